"""Candidate quotes inside retrieved passages: single sentences and adjacent pairs, with document offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index import ScoredPassage, split_sentences
from service.answering.safety import unquotable


@dataclass(frozen=True)
class QuoteCandidate:
    """A span of one retrieved passage that could back a claim; offsets are into the document's text."""

    passage_index: int
    document_id: str
    start: int
    end: int
    text: str
    sentences: int


def quote_candidates(passages: Sequence[ScoredPassage], *, max_sentences: int = 2) -> list[QuoteCandidate]:
    """Every run of 1..max_sentences consecutive sentences of every passage, except instruction-like text and
    markup that would fire a request."""
    candidates: list[QuoteCandidate] = []
    for index, scored in enumerate(passages):
        passage = scored.passage
        spans = split_sentences(passage.text)
        for first in range(len(spans)):
            for last in range(first, min(first + max_sentences, len(spans))):
                begin, finish = spans[first].start, spans[last].end
                if unquotable(passage.text[begin:finish]):
                    # Planted instructions are not evidence for anything, and never quoted.
                    continue
                candidates.append(
                    QuoteCandidate(
                        passage_index=index,
                        document_id=passage.document_id,
                        start=passage.start + begin,
                        end=passage.start + finish,
                        text=passage.text[begin:finish],
                        sentences=last - first + 1,
                    )
                )
    return candidates


def planted_sentences(passages: Sequence[ScoredPassage]) -> list[str]:
    """The sentences of the passages that can never be evidence (planted instructions, request-firing markup)."""
    found: list[str] = []
    for scored in passages:
        text = scored.passage.text
        for span in split_sentences(text):
            sentence = text[span.start : span.end]
            if unquotable(sentence) and sentence not in found:
                found.append(sentence)
    return found
