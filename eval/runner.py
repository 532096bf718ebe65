"""Run a question set through an answer source (in-process or remote) and score every answer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eval.judges import RecordingJudge
from eval.metrics import (
    CitedSentence,
    abstention_scores,
    alce_citation_scores,
    answer_in_quotes,
    facts_found,
    gold_document_recall,
    percentile,
    quote_fidelity,
    ratio,
)
from eval.questions import CATEGORIES, EvalQuestion
from index import Collection, DocumentNotFoundError, FootnoteError
from service.answering import Answer, Answerer, FinalAnswer, LLMError, RetrievedPassages


class QuestionFailedError(FootnoteError):
    """One question could not be answered (the model timed out, the server was busy); the run goes on."""

    code = "question_failed"


@dataclass(frozen=True)
class Asked:
    """One answer as the source gave it, with the documents of the passages retrieved for it."""

    answer: Answer
    retrieved_documents: list[str]
    latency_ms: float


class AnswerSource(Protocol):
    """Where answers come from: the in-process pipeline or a running Footnote."""

    k: int

    def ask(self, question: EvalQuestion) -> Asked: ...

    def document_text(self, document_id: str) -> str | None: ...


class LocalSource:
    """The same `Answerer` the CLI and the HTTP API use, in this process."""

    def __init__(self, answerer: Answerer, collection: Collection) -> None:
        self.answerer = answerer
        self.collection = collection
        self.k = answerer.settings.k
        self._texts: dict[str, str | None] = {}

    def ask(self, question: EvalQuestion) -> Asked:
        """Answer through the pipeline's events, keeping the retrieved passages the answer was drawn from."""
        started = time.perf_counter()
        retrieved: list[str] = []
        answer: Answer | None = None
        for event in self.answerer.answer_events(question.question, history=question.history, stream=False):
            if isinstance(event, RetrievedPassages):
                retrieved = [p.passage.document_id for p in event.passages]
            elif isinstance(event, FinalAnswer):
                answer = event.answer
        if answer is None:
            raise AssertionError("the answering pipeline ended without an answer")
        return Asked(answer, retrieved, 1000 * (time.perf_counter() - started))

    def document_text(self, document_id: str) -> str | None:
        """The stored canonical text, or None for an unknown document."""
        if document_id not in self._texts:
            try:
                self._texts[document_id] = self.collection.get_document(document_id).text
            except DocumentNotFoundError:
                self._texts[document_id] = None
        return self._texts[document_id]


@dataclass(frozen=True)
class QuestionResult:
    """How one answer scored; None where a figure does not apply (no citation recall for an abstention)."""

    id: str
    category: str
    answerable: bool
    abstained: bool
    decision_correct: bool
    facts_found: int
    facts_expected: int
    citations: int
    citations_exact: int
    citations_in_gold: int
    sentences: int
    supported_sentences: int
    precise_citations: int
    judged_citations: int
    citation_recall: float | None
    citation_precision: float | None
    retrieval_recall: float | None
    latency_ms: float
    retrieved_documents: list[str]
    verdicts: list[dict[str, Any]] = field(repr=False)
    answer: Answer | None = field(repr=False)
    error: str | None = None
    # Whether the cited quotes hold a gold answer (SQuAD-normalised); None when the question was refused, is
    # unanswerable or expects nothing. Last, with a default, so results.jsonl files written before it still load.
    answer_in_quotes: bool | None = None

    @classmethod
    def failed(cls, question: EvalQuestion, error: str) -> QuestionResult:
        """A question whose answer failed: it counts in the completion rate and in no other figure."""
        return cls(
            id=question.id,
            category=question.category,
            answerable=question.answerable,
            abstained=False,
            decision_correct=False,
            facts_found=0,
            facts_expected=len(question.must_include),
            citations=0,
            citations_exact=0,
            citations_in_gold=0,
            sentences=0,
            supported_sentences=0,
            precise_citations=0,
            judged_citations=0,
            citation_recall=None,
            citation_precision=None,
            retrieval_recall=None,
            latency_ms=0.0,
            retrieved_documents=[],
            verdicts=[],
            answer=None,
            error=error,
        )


def score_answer(
    question: EvalQuestion, asked: Asked, *, source: AnswerSource, judge: RecordingJudge
) -> QuestionResult:
    """Score one answer against its question, the stored documents and the judge."""
    answer = asked.answer
    quotes = [(c.document_id, c.start, c.end, c.quote) for c in answer.citations]
    by_marker = {c.marker: c for c in answer.citations}
    sentences = [
        # A marker pointing at no citation makes the sentence uncited, as ALCE treats an out-of-range reference.
        CitedSentence(s.text, tuple(by_marker[m].quote for m in s.markers))
        if all(m in by_marker for m in s.markers)
        else CitedSentence(s.text, ())
        for s in answer.sentences
    ]
    scores = None if answer.abstained else alce_citation_scores(sentences, judge.supports)
    markers_of = {c.quote: c.marker for c in answer.citations}
    verdicts = [
        {
            "sentence": sentence,
            "markers": [markers_of.get(p) for p in passages],
            "supported": verdict.supported,
            "score": verdict.score,
        }
        for sentence, passages, verdict in judge.take_log()
    ]
    return QuestionResult(
        id=question.id,
        category=question.category,
        answerable=question.answerable,
        abstained=answer.abstained,
        decision_correct=answer.abstained != question.answerable,
        facts_found=0 if answer.abstained else facts_found(answer.text, question.must_include),
        facts_expected=len(question.must_include),
        citations=len(quotes),
        citations_exact=quote_fidelity(quotes, source.document_text),
        citations_in_gold=sum(c.document_id in question.gold_documents for c in answer.citations),
        sentences=len(sentences),
        supported_sentences=scores.supported_sentences if scores else 0,
        precise_citations=scores.precise_citations if scores else 0,
        judged_citations=scores.citations if scores else 0,
        citation_recall=scores.recall if scores else None,
        citation_precision=scores.precision if scores else None,
        retrieval_recall=gold_document_recall(asked.retrieved_documents, question.gold_documents, source.k)
        if question.gold_documents
        else None,
        latency_ms=round(asked.latency_ms, 1),
        retrieved_documents=asked.retrieved_documents,
        verdicts=verdicts,
        answer=answer,
        answer_in_quotes=answer_in_quotes([c.quote for c in answer.citations], question.must_include)
        if question.answerable and question.must_include and not answer.abstained
        else None,
    )


def run_questions(
    questions: Sequence[EvalQuestion],
    source: AnswerSource,
    judge: RecordingJudge,
    *,
    on_progress: Callable[[int], object] | None = None,
) -> list[QuestionResult]:
    """Answer every question and score it; a question whose model or server fails is recorded as failed."""
    results = []
    for question in questions:
        try:
            asked = source.ask(question)
        except (LLMError, QuestionFailedError) as error:
            results.append(QuestionResult.failed(question, str(error)))
        else:
            results.append(score_answer(question, asked, source=source, judge=judge))
        if on_progress is not None:
            on_progress(1)
    return results


def summarise(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Overall figures, each over the questions or citations it applies to, and the same per category."""
    summary = _figures(results)
    summary["by_category"] = {
        category: _figures([r for r in results if r.category == category])
        for category in CATEGORIES
        if any(r.category == category for r in results)
    }
    return summary


def _figures(every: Sequence[QuestionResult]) -> dict[str, Any]:
    # Failed questions count only in the completion rate: a timed-out answer has no citations to score.
    results = [r for r in every if r.error is None]
    answerable = [r for r in results if r.answerable]
    answered = [r for r in results if not r.abstained]
    answered_answerable = [r for r in answerable if not r.abstained]
    abstention = abstention_scores([(r.answerable, r.abstained) for r in results])
    latencies = [r.latency_ms for r in results]
    # When the first verified sentences were ready: the quotes a stream sends before a written answer, else the
    # whole answer. Answers only (a refusal has no sentence); answers recorded before the field have none.
    first_sentences = [
        r.answer.timings.first_sentence_ms
        for r in answered
        if r.answer is not None and r.answer.timings.first_sentence_ms is not None
    ]
    retrieval = [r.retrieval_recall for r in results if r.retrieval_recall is not None]
    return {
        "questions": len(every),
        "failed": len(every) - len(results),
        "completion_rate": _round(ratio(len(results), len(every))),
        "answerable": len(answerable),
        "answered": len(answered),
        # A citation-free run has no wrong quote; every other figure is None (n/a) when nothing applies.
        "quote_fidelity": _round(ratio(sum(r.citations_exact for r in results), sum(r.citations for r in results))),
        # ALCE averages recall and precision per answer, then over answers; abstentions have no citations to judge.
        "citation_recall": _mean([r.citation_recall for r in answered]),
        "citation_precision": _mean([r.citation_precision for r in answered]),
        "citation_document_precision": _share(
            sum(r.citations_in_gold for r in answered_answerable), sum(r.citations for r in answered_answerable)
        ),
        "fact_recall": _share(
            sum(r.facts_found for r in answered_answerable), sum(r.facts_expected for r in answered_answerable)
        ),
        # Issue 14's SQuAD figure, meaningful for any set with must_include: answered answerable questions whose
        # cited quotes hold one alternative of every group (SQuAD normalisation), over those that expect facts.
        "answer_in_quotes": _share(
            sum(r.answer_in_quotes is True for r in answered_answerable),
            sum(r.answer_in_quotes is not None for r in answered_answerable),
        ),
        "fact_recall_all_answerable": _share(
            sum(r.facts_found for r in answerable), sum(r.facts_expected for r in answerable)
        ),
        "decision_accuracy": _share(sum(r.decision_correct for r in results), len(results)),
        "abstention_precision": _round(abstention.precision),
        "abstention_recall": _round(abstention.recall),
        "abstention_f1": _round(abstention.f1),
        "wrong_refusal_rate": _round(abstention.wrong_refusal_rate),
        "refused_answerable": abstention.refused_answerable,
        "answered_unanswerable": abstention.answered_unanswerable,
        "retrieval_recall_at_k": _mean(retrieval),
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p95_ms": round(percentile(latencies, 95), 1),
        "first_sentence_p50_ms": round(percentile(first_sentences, 50), 1) if first_sentences else None,
    }


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return _round(statistics.fmean(present)) if present else None


def _share(numerator: float, denominator: float) -> float | None:
    return _round(numerator / denominator) if denominator else None


def _round(value: float) -> float:
    return round(value, 6)
