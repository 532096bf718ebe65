"""Assemble the final answer: number each distinct quote in order of first use, put markers after sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from index import ScoredPassage
from prompts.citations import format_markers
from service.answering.answer_models import AnswerSentence, Citation
from service.answering.quotes import QuoteCandidate
from service.answering.verification import SupportedQuote

# The sentence's closing punctuation, then any closing quotation marks or brackets after it.
_TERMINAL = re.compile(r"([.!?…]+)([\"'”’)]*)$")


@dataclass(frozen=True)
class Stage:
    """The sentences an answer will be made of, each with its supporting quotes and origin, and the mode."""

    sentences: list[tuple[str, tuple[SupportedQuote, ...], Literal["generated", "quoted"]]]
    mode: Literal["generated", "extractive", "abstained"]


def assemble(stage: Stage, passages: Sequence[ScoredPassage]) -> tuple[str, list[AnswerSentence], list[Citation]]:
    """Number each distinct quote in order of first use and put its marker at the end of its sentence."""
    markers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    parts: list[str] = []
    for text, quotes, origin in stage.sentences:
        numbers: list[int] = []
        for supported in quotes:
            quote = supported.quote
            key = (quote.document_id, quote.start, quote.end)
            if key not in markers:
                markers[key] = len(markers) + 1
                citations.append(_citation(markers[key], quote, supported.support, passages[quote.passage_index]))
            if markers[key] not in numbers:
                numbers.append(markers[key])
        sentences.append(AnswerSentence(text=text, markers=numbers, origin=origin, verified=True))
        parts.append(_with_markers(text, numbers))
    return " ".join(parts), sentences, citations


def _with_markers(text: str, numbers: list[int]) -> str:
    terminal = _TERMINAL.search(text)
    # A sentence ending inside a quotation or brackets ("... turning up in Russia.”): the marker goes after the
    # closing mark, where it cannot be read as part of what was said.
    if terminal is None or terminal.group(2):
        return f"{text} {format_markers(numbers)}"
    return f"{text[: terminal.start()]} {format_markers(numbers)}{terminal.group(1)}"


def _citation(marker: int, quote: QuoteCandidate, support: float, scored: ScoredPassage) -> Citation:
    return Citation(
        marker=marker,
        document_id=quote.document_id,
        title=scored.title,
        date=scored.date,
        source=scored.source,
        passage_id=scored.passage.id,
        quote=quote.text,
        start=quote.start,
        end=quote.end,
        support=round(support, 4),
    )
