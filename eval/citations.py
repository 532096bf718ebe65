"""Answer and citation quality on a question set: quote fidelity, citation precision, facts, abstention."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index import Collection, DocumentLoadError
from service.answer_types import Answer, Turn
from service.answering import Answerer


class EvalQuestion(BaseModel):
    """One line of a question set (see the README for the format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    question: str
    answerable: bool
    gold_documents: list[str] = Field(default_factory=list)
    must_include: list[list[str]] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    notes: str | None = None


@dataclass(frozen=True)
class QuestionResult:
    """How one answer scored."""

    id: str
    answerable: bool
    abstained: bool
    decision_correct: bool
    facts_found: int
    facts_expected: int
    citations: int
    citations_exact: int
    citations_in_gold: int
    latency_ms: float
    answer: Answer = field(repr=False)


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read and validate a question set; a bad line is an error naming the line."""
    if not path.is_file():
        raise DocumentLoadError(f"{path}: no such file")
    questions: list[EvalQuestion] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate_json(line))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise DocumentLoadError(f"{path}:{number}: {where or 'line'}: {first['msg']}") from error
    return questions


def facts_found(text: str, groups: Sequence[Sequence[str]]) -> int:
    """How many groups have at least one alternative in the text, case-insensitively."""
    lowered = text.lower()
    return sum(any(alternative.lower() in lowered for alternative in group) for group in groups)


def score_answer(question: EvalQuestion, answer: Answer, collection: Collection, latency_ms: float) -> QuestionResult:
    """Score one answer against its question's expectations and the stored documents."""
    exact = sum(collection.get_document(c.document_id).text[c.start : c.end] == c.quote for c in answer.citations)
    in_gold = sum(c.document_id in question.gold_documents for c in answer.citations)
    return QuestionResult(
        id=question.id,
        answerable=question.answerable,
        abstained=answer.abstained,
        decision_correct=answer.abstained != question.answerable,
        facts_found=0 if answer.abstained else facts_found(answer.text, question.must_include),
        facts_expected=len(question.must_include),
        citations=len(answer.citations),
        citations_exact=exact,
        citations_in_gold=in_gold,
        latency_ms=latency_ms,
        answer=answer,
    )


def run_questions(
    questions: Sequence[EvalQuestion],
    answerer: Answerer,
    *,
    on_progress: Callable[[int], object] | None = None,
) -> list[QuestionResult]:
    """Answer every question with the same pipeline the service uses, and score it."""
    results = []
    for question in questions:
        answer = answerer.answer(question.question, history=question.history)
        results.append(score_answer(question, answer, answerer.retriever.collection, answer.timings.total_ms))
        if on_progress is not None:
            on_progress(1)
    return results


def summarise(results: Sequence[QuestionResult]) -> dict[str, float | int]:
    """Overall figures: every ratio is over the questions or citations it applies to."""
    answerable = [r for r in results if r.answerable]
    answered = [r for r in answerable if not r.abstained]
    citations = sum(r.citations for r in results)
    gold_citations = sum(r.citations for r in answered)
    latencies = sorted(r.latency_ms for r in results)
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "quote_fidelity": _ratio(sum(r.citations_exact for r in results), citations),
        "citation_document_precision": _ratio(sum(r.citations_in_gold for r in answered), gold_citations),
        "fact_recall": _ratio(sum(r.facts_found for r in answered), sum(r.facts_expected for r in answered)),
        "fact_recall_all_answerable": _ratio(
            sum(r.facts_found for r in answerable), sum(r.facts_expected for r in answerable)
        ),
        "decision_accuracy": _ratio(sum(r.decision_correct for r in results), len(results)),
        "abstained_answerable": sum(r.abstained for r in answerable),
        "answered_unanswerable": sum(not r.abstained for r in results if not r.answerable),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "latency_p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1)
        if latencies
        else 0.0,
    }


def result_record(result: QuestionResult) -> dict[str, object]:
    """One results.jsonl line: the scores and the whole answer."""
    record = {k: v for k, v in result.__dict__.items() if k != "answer"}
    record["answer"] = json.loads(result.answer.model_dump_json())
    return record


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 1.0
