"""The answering pipeline: retrieve, gate, draft with the LLM, verify and repair, fall back to quoting, or abstain.

A plain class with no web framework in sight, so the CLI, the HTTP routes and the evaluator run the same code.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from index import Retriever, ScoredPassage, content_terms
from prompts.citations import DraftSentence, parse_draft
from prompts.rendering import render
from service.answering.answer_models import (
    Answer,
    Timings,
    TokenUsage,
    Turn,
    VerificationStats,
)
from service.answering.assembly import Stage, assemble
from service.answering.errors import LLMError
from service.answering.extractive import RelevantSentence, pick_extract, rank_sentences, top_relevance
from service.answering.followup import standalone_question
from service.answering.llm import ChatModel, Message
from service.answering.question_kinds import can_answer, expected_answer_type
from service.answering.quotes import QuoteCandidate
from service.answering.reader import Reader, Reading
from service.answering.safety import contains_secret, has_link_or_image, withhold_secret, without_planted_instructions
from service.answering.support import SupportScorer, inverse_document_frequencies
from service.answering.verification import CheckedSentence, SupportedQuote, verify_draft

REFUSAL = "The articles do not answer this question."


@dataclass(frozen=True)
class AnsweringSettings:
    """Thresholds and sizes of the answering pipeline; the thresholds were fitted on the dev sets."""

    # Eight passages, not six: on bundled_dev two expected facts were only in the seventh and eighth passages
    # (the reader still reads twelve sentences, so more passages cost only the cheap sentence ranking).
    k: int = 8
    mode: Literal["generate", "extractive"] = "generate"
    prompt_passages: int = 4
    max_sentences: int = 4
    support_threshold: float = 0.43
    relevance_threshold: float = 0.41
    extract_sentences: int = 3
    # A secret placed in the system prompt: it shows whether a hostile document made the model leak the prompt,
    # and no sentence or streamed text containing it ever reaches the user.
    prompt_canary: str | None = None


@dataclass(frozen=True)
class RetrievedPassages:
    """The passages the answer will be drawn from, sent before any text."""

    passages: Sequence[ScoredPassage]


@dataclass(frozen=True)
class DraftDelta:
    """A piece of the model's draft as it is generated; unverified, replaced by the final answer."""

    text: str


@dataclass(frozen=True)
class QuotedAnswer:
    """Verified quotes that answer the question, sent while a written answer is still to come (on two cores the
    written answer takes several seconds more). The final answer replaces them; it is these same quotes when no
    written answer passes verification."""

    answer: Answer


@dataclass(frozen=True)
class FinalAnswer:
    """The verified answer: what the draft became after verification, repair, fallback or abstention."""

    answer: Answer


AnswerEvent = RetrievedPassages | QuotedAnswer | DraftDelta | FinalAnswer


class Answerer:
    """Answers questions over a collection with verified citations."""

    def __init__(
        self,
        *,
        retriever: Retriever,
        scorer: SupportScorer,
        chat_model: ChatModel | None,
        settings: AnsweringSettings | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.retriever = retriever
        self.scorer = scorer
        self.chat_model = chat_model
        self.settings = settings or AnsweringSettings()
        # The model judge; without one (no local model installed, or the heuristic chosen) the heuristic decides.
        self.reader = reader

    def answer(self, question: str, *, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        """A cited answer, an extractive answer, or an abstention."""
        return final_answer(self.answer_events(question, history=history, k=k, stream=False))

    def answer_events(
        self, question: str, *, history: Sequence[Turn] = (), k: int | None = None, stream: bool = True
    ) -> Iterator[AnswerEvent]:
        """The answer as it happens: the retrieved passages, verified quotes when a written answer is to follow and
        quotes answer, the model's unverified draft as text deltas (when `stream`), then the verified final answer,
        which replaces the quotes and the draft."""
        started = time.perf_counter()
        standalone = standalone_question(question, history)
        passages = self.retriever.search(standalone, k=k or self.settings.k)
        retrieved = time.perf_counter()
        yield RetrievedPassages(passages)
        ranked = self.rank_evidence(standalone, passages)
        clock = _Clock(started=started, retrieved=retrieved)
        if self.reader is not None:
            yield from self._read_and_answer(question, standalone, history, passages, ranked, clock, stream=stream)
            return
        if top_relevance(ranked) < self.settings.relevance_threshold:
            yield FinalAnswer(self._abstain(question, standalone, clock=clock))
            return
        stats = VerificationStats()
        usage = TokenUsage()
        quoted = self._extract(ranked)
        stage: Stage | None = None
        if self.settings.mode == "generate" and self.chat_model is not None:
            if quoted.sentences:
                yield QuotedAnswer(self._quotes_first(question, standalone, quoted, passages, clock))
            clock.generation_started()
            messages = self.prompt(question, history, passages)
            draft, usage = yield from self._draft(messages, stream=stream)
            clock.generation_done()
            checked, stats = self._verify(draft, passages)
            kept = [c for c in checked if c.outcome != "dropped"]
            if kept:
                stage = Stage([(c.text, c.quotes, "generated") for c in kept], "generated")
        if stage is None and quoted.sentences:
            stage = quoted
        if stage is None:
            abstained = self._abstain(question, standalone, clock=clock)
            yield FinalAnswer(abstained.model_copy(update={"verification": stats, "usage": usage}))
            return
        timings = clock.timings(done=time.perf_counter(), answered=True)
        yield FinalAnswer(self._answered(question, standalone, stage, passages, timings, stats, usage))

    def with_chat_model(self, chat_model: ChatModel | None) -> Answerer:
        """The same pipeline answering with another model (for a per-request model override)."""
        return Answerer(
            retriever=self.retriever,
            scorer=self.scorer,
            chat_model=chat_model,
            settings=self.settings,
            reader=self.reader,
        )

    def _read_and_answer(
        self,
        question: str,
        standalone: str,
        history: Sequence[Turn],
        passages: Sequence[ScoredPassage],
        ranked: Sequence[RelevantSentence],
        clock: _Clock,
        *,
        stream: bool,
    ) -> Iterator[AnswerEvent]:
        """The model reads the shortlisted sentences: quotes it confirms first, then a written answer it verifies, or a
        refusal."""
        assert self.reader is not None
        reader = self.reader
        reading = reader.reading(question, ranked, history, standalone=standalone)
        writes = self.settings.mode == "generate" and self.chat_model is not None
        # The judged quotes come first on every path: they are the extractive answer, the written answer's fallback,
        # and while a written answer is prepared the first verified sentences a stream sends (about 2 s on two cores,
        # against 9 s for the written answer). The pick is the heuristic's, and the judge's confirmation that the
        # quotes alone answer decides; it is the better judge of the two (bundled_dev AUC 1.00 against 0.97, SQuAD
        # 2.0 tune articles 0.74 against 0.68 for the shortlist), and reading only the quotes takes a third of the
        # time of reading twelve sentences.
        quoted, quoted_confirmation = self._confirmed_quotes(reading)
        if quoted is not None and writes:
            yield QuotedAnswer(self._quotes_first(question, standalone, quoted, passages, clock, judge=reader.name))
            reading = reader.led_by(reading, _cited(quoted))
        # Quotes that answer settle that the shortlist does. Otherwise the judge is asked before writing whether the
        # shortlist answers at all: the writer reads the same sentences next (the model keeps their evaluated state),
        # so this costs a few tokens and spares writing a refusal.
        answerable = quoted is not None or (writes and reader.is_answerable(reading))
        stats, usage, degraded = VerificationStats(), TokenUsage(), None
        stage: Stage | None = None
        if answerable and writes:
            clock.generation_started()
            messages = reader.write_messages(reading, max_sentences=self.settings.max_sentences)
            try:
                draft, usage = yield from self._draft(messages, stream=stream)
            except LLMError as error:
                # Degrade, don't fail: the verified quotes answer instead, labelled with the reason.
                draft, degraded = "", str(error)
            clock.generation_done()
            parsed, safe = self._draft_sentences(draft)
            checked, stats = reader.verify(reading, safe[: self.settings.max_sentences])
            stats = _with_unsafe_dropped(stats, len(parsed) - len(safe))
            kept = [c for c in checked if c.outcome != "dropped"]
            written = Stage([(c.text, c.quotes, "generated") for c in kept], "generated")
            # A written answer whose quotes alone the judge does not take for an answer, or takes for a clearly
            # weaker one than the quotes, gives way to the quotes: the writer can miss what the heuristic's best
            # sentences state ("What are Russia's concerns about refugees?" was written from the southern-flank and
            # ISIS sentences).
            if kept and self._holds_up(reading, written, quoted_confirmation):
                stage = written
        if stage is None:
            stage = quoted
        done = time.perf_counter()
        timings = clock.timings(done=done, answered=stage is not None)
        if stage is None:
            abstained = self._abstain(question, standalone, clock=clock, done=done)
            yield FinalAnswer(
                abstained.model_copy(
                    update={"verification": stats, "usage": usage, "judge": reader.name, "degraded": degraded}
                )
            )
            return
        answer = self._answered(question, standalone, stage, passages, timings, stats, usage)
        yield FinalAnswer(answer.model_copy(update={"judge": reader.name, "degraded": degraded}))

    def _confirmed_quotes(self, reading: Reading) -> tuple[Stage | None, float]:
        """The heuristic's pick of sentences to quote, when the judge says they alone answer the question, and the
        judge's P(they answer) (0 when nothing was picked)."""
        assert self.reader is not None
        picked = self.reader.pick(reading, count=self.reader.settings.quotes)
        confirmation = self.reader.confirmation(reading, [q.quote for q in picked]) if picked else 0.0
        if confirmation < self.reader.settings.confirm_threshold:
            return None, confirmation
        return Stage([(q.quote.text, (q,), "quoted") for q in picked], "extractive"), confirmation

    def _holds_up(self, reading: Reading, written: Stage, quoted_confirmation: float) -> bool:
        """Whether the written answer's quotes alone answer, and not clearly less than the confirmed quotes do; and,
        beside confirmed quotes, whether it states the kind of thing asked for (a time for "when"): "When were
        Russia's drills held, and what did its units do?" was written as "During these drills, its units blew up
        tonnes of explosives" and confirmed, while the quotes give the date (the quotes always can: the sentences
        were shortlisted for holding one)."""
        assert self.reader is not None
        settings = self.reader.settings
        quotes_answer = quoted_confirmation >= settings.confirm_threshold
        if quotes_answer:
            text = " ".join(sentence for sentence, _, _ in written.sentences)
            if not can_answer(expected_answer_type(reading.asked), text, question=reading.asked):
                return False  # no judge question needed
        confirmation = self.reader.confirmation(reading, _cited(written))
        if confirmation < settings.confirm_threshold:
            return False
        return not quotes_answer or confirmation >= quoted_confirmation - settings.prefer_quotes_margin

    def _quotes_first(
        self,
        question: str,
        standalone: str,
        quoted: Stage,
        passages: Sequence[ScoredPassage],
        clock: _Clock,
        *,
        judge: str = "heuristic",
    ) -> Answer:
        """The quotes as an answer of their own, sent before the written one; the clock notes the first sentence."""
        timings = clock.first_sentence(time.perf_counter())
        answer = self._answered(question, standalone, quoted, passages, timings, VerificationStats(), TokenUsage())
        return answer.model_copy(update={"judge": judge})

    def _answered(
        self,
        question: str,
        standalone: str,
        stage: Stage,
        passages: Sequence[ScoredPassage],
        timings: Timings,
        stats: VerificationStats,
        usage: TokenUsage,
    ) -> Answer:
        """The answer made of the stage's sentences, each quote numbered in order of first use."""
        text, sentences, citations = assemble(stage, passages)
        model = self.chat_model.name if stage.mode == "generated" and self.chat_model is not None else "extractive"
        return Answer(
            question=question,
            standalone_question=standalone,
            text=text,
            sentences=sentences,
            citations=citations,
            abstained=False,
            mode=stage.mode,
            model=model,
            timings=timings,
            verification=stats,
            usage=usage,
        )

    def _draft(self, messages: list[Message], *, stream: bool) -> Generator[AnswerEvent, None, tuple[str, TokenUsage]]:
        """The model's draft, streamed as deltas when asked (never past the prompt's canary), with its usage."""
        assert self.chat_model is not None
        if not stream:
            reply = self.chat_model.complete(messages)
            return reply.text, TokenUsage(prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens)
        deltas: list[str] = []
        for shown in withhold_secret(_recorded(self.chat_model.stream(messages), deltas), self.settings.prompt_canary):
            yield DraftDelta(shown)
        # Streamed replies carry no usage; local and OpenAI-style streams send one token per chunk.
        return "".join(deltas), TokenUsage(completion_tokens=len(deltas))

    def _draft_sentences(self, draft: str) -> tuple[list[DraftSentence], list[DraftSentence]]:
        """The draft's sentences without refusals and repeats, and those of them that are safe to ship."""
        refusal = REFUSAL.lower().rstrip(".")
        parsed = _without_repeats([s for s in parse_draft(draft) if refusal not in s.text.lower()])
        # Links and images in model output are the exfiltration channel, and a sentence holding the prompt's
        # canary leaks the prompt: such sentences are never shipped.
        safe = [
            s
            for s in parsed
            if not has_link_or_image(s.text) and not contains_secret(s.text, self.settings.prompt_canary)
        ]
        return parsed, safe

    def prompt(self, question: str, history: Sequence[Turn], passages: Sequence[ScoredPassage]) -> list[Message]:
        """The chat messages for the model: rules in the system message, numbered passages in the user's."""
        shown = [
            {"marker": n, "title": p.title, "date": p.date, "text": without_planted_instructions(p.passage.text)}
            for n, p in enumerate(passages[: self.settings.prompt_passages], start=1)
        ]
        return [
            {
                "role": "system",
                "content": render(
                    "answer_system",
                    refusal=REFUSAL,
                    max_sentences=self.settings.max_sentences,
                    canary=self.settings.prompt_canary,
                ),
            },
            {
                "role": "user",
                "content": render("answer_user", passages=shown, history=list(history), question=question),
            },
        ]

    def _verify(self, draft: str, passages: Sequence[ScoredPassage]) -> tuple[list[CheckedSentence], VerificationStats]:
        parsed, safe = self._draft_sentences(draft)
        checked, stats = verify_draft(safe, passages, scorer=self.scorer, threshold=self.settings.support_threshold)
        return checked, _with_unsafe_dropped(stats, len(parsed) - len(safe))

    def rank_evidence(self, question: str, passages: Sequence[ScoredPassage]) -> list[RelevantSentence]:
        """The sentences of the passages that could answer the question, most relevant first.

        A question asking for a number, a time or a person only counts sentences holding one.
        """
        collection = self.retriever.collection
        frequencies, total = collection.term_statistics(content_terms(question))
        idf = inverse_document_frequencies(frequencies, max(total, 1))
        ranked = rank_sentences(question, passages, embedder=collection.embedder, idf=idf)
        wanted = expected_answer_type(question)
        return [r for r in ranked if can_answer(wanted, r.quote.text, question=question)]

    def _extract(self, ranked: Sequence[RelevantSentence]) -> Stage:
        picked = pick_extract(
            ranked, threshold=self.settings.relevance_threshold, count=self.settings.extract_sentences
        )
        return Stage([(r.quote.text, (SupportedQuote(r.quote, 1.0),), "quoted") for r in picked], "extractive")

    def _abstain(self, question: str, standalone: str, *, clock: _Clock, done: float | None = None) -> Answer:
        return Answer(
            question=question,
            standalone_question=standalone,
            text=REFUSAL,
            sentences=[],
            citations=[],
            abstained=True,
            mode="abstained",
            model="none",
            timings=clock.timings(done=time.perf_counter() if done is None else done, answered=False),
            verification=VerificationStats(),
        )


class _Clock:
    """The clock readings of one answer: retrieval, the model's generation, the first verified sentence."""

    def __init__(self, *, started: float, retrieved: float) -> None:
        self.started = started
        self.retrieved = retrieved
        self.generation_ms = 0.0
        self._generation_started: float | None = None
        self._first_sentence: float | None = None

    def generation_started(self) -> None:
        self._generation_started = time.perf_counter()

    def generation_done(self) -> None:
        if self._generation_started is not None:
            self.generation_ms = 1000 * (time.perf_counter() - self._generation_started)

    def first_sentence(self, now: float) -> Timings:
        """Note that verified sentences were ready (sent, on a stream) now; the timings up to now."""
        self._first_sentence = now
        return self.timings(done=now, answered=True)

    def timings(self, *, done: float, answered: bool) -> Timings:
        """Where the time went. The first verified sentence came with the quotes sent early, if any were, else with
        the final answer: a written answer's sentences are all verified before any is sent."""
        timings = _timings(started=self.started, retrieved=self.retrieved, done=done, generation_ms=self.generation_ms)
        first = self._first_sentence if self._first_sentence is not None else done
        return timings.model_copy(update={"first_sentence_ms": 1000 * (first - self.started) if answered else None})


def final_answer(events: Iterable[AnswerEvent]) -> Answer:
    """The verified answer at the end of the pipeline's events; the passages and draft before it are skipped."""
    for event in events:
        if isinstance(event, FinalAnswer):
            return event.answer
    raise AssertionError("the pipeline ended without a final answer")


def _timings(*, started: float, retrieved: float, done: float, generation_ms: float) -> Timings:
    """Where the time went, from the clock readings of one answer (generation timed on its own)."""
    return Timings(
        retrieval_ms=1000 * (retrieved - started),
        generation_ms=generation_ms,
        verification_ms=1000 * (done - retrieved) - generation_ms,
        total_ms=1000 * (done - started),
    )


def _cited(stage: Stage) -> list[QuoteCandidate]:
    """Every quote a stage's sentences cite, in order."""
    return [supported.quote for _, quotes, _ in stage.sentences for supported in quotes]


def _with_unsafe_dropped(stats: VerificationStats, unsafe: int) -> VerificationStats:
    """The tallies with the sentences dropped before verification as unsafe counted in."""
    return stats.model_copy(
        update={"draft_sentences": stats.draft_sentences + unsafe, "dropped": stats.dropped + unsafe}
    )


def _recorded(deltas: Iterator[str], into: list[str]) -> Iterator[str]:
    """The deltas, each also appended to `into`: the whole draft is verified even when the stream was cut."""
    for delta in deltas:
        into.append(delta)
        yield delta


def _without_repeats(sentences: list[DraftSentence]) -> list[DraftSentence]:
    """Small models loop; a sentence said twice is said once."""
    seen: set[str] = set()
    unique = []
    for sentence in sentences:
        key = " ".join(sentence.text.lower().split())
        if key not in seen:
            seen.add(key)
            unique.append(sentence)
    return unique
