"""The extractive path: the source sentences most relevant to the question, quoted verbatim.

It also measures relevance for the abstention gate, so both decisions use one yardstick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from index import Embedder, ScoredPassage, content_terms
from service.answering.quotes import QuoteCandidate, quote_candidates
from service.answering.support import content_coverage


@dataclass(frozen=True)
class RelevantSentence:
    """A source sentence with how relevant it is to the question (0 to 1)."""

    quote: QuoteCandidate
    relevance: float


def rank_sentences(
    question: str,
    passages: Sequence[ScoredPassage],
    *,
    embedder: Embedder,
    idf: dict[str, float],
    semantic_weight: float = 0.5,
) -> list[RelevantSentence]:
    """Every distinct sentence of the passages, most relevant first.

    Relevance mixes the IDF-weighted share of the question's terms found in the sentence with embedding
    similarity. A question term the collection never uses weighs the most, so a question about
    something the articles never mention scores low even when it names a place they do mention.
    """
    sentences = _distinct(quote_candidates(passages, max_sentences=1))
    if not sentences:
        return []
    question_terms = content_terms(question)
    vectors = embedder.embed_passages([question, *(s.text for s in sentences)])
    similarity = vectors[1:] @ vectors[0]
    ranked = [
        RelevantSentence(
            sentence,
            float(
                (1.0 - semantic_weight) * content_coverage(question_terms, set(content_terms(sentence.text)), idf)
                + semantic_weight * max(0.0, float(sim))
            ),
        )
        for sentence, sim in zip(sentences, similarity, strict=True)
    ]
    return sorted(ranked, key=lambda r: -r.relevance)


def pick_extract(ranked: Sequence[RelevantSentence], *, threshold: float, count: int) -> list[RelevantSentence]:
    """The top sentences above the relevance threshold, at most `count`."""
    return [sentence for sentence in ranked if sentence.relevance >= threshold][:count]


def _distinct(candidates: Iterable[QuoteCandidate]) -> list[QuoteCandidate]:
    seen: set[tuple[str, int, int]] = set()
    unique: list[QuoteCandidate] = []
    for candidate in candidates:
        key = (candidate.document_id, candidate.start, candidate.end)
        # Overlapping passages repeat sentences; the same document span may also come from two passages.
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def top_relevance(ranked: Sequence[RelevantSentence]) -> float:
    """The best relevance, 0 when there is nothing."""
    return float(np.max([r.relevance for r in ranked])) if ranked else 0.0
