"""Footnote's BM25 split for a sparse-vector engine: the term-frequency part is stored, idf goes with the query.

bm25s (the embedded lexical index, Lucene variant) scores a passage as the sum over query terms of
weight * idf(term) * tf / (tf + k1 * (1 - b + b * dl / avgdl)), with idf = ln(1 + (N - df + 0.5) / (df + 0.5)).
The last factor depends only on the passage (and the average length), idf only on the collection: so each
passage is stored as a sparse vector of its term-frequency parts, and each query as a sparse vector of
weight * idf, and their inner product is the BM25 score. Adding passages changes df and N, which live on the
query side, and never rewrites a stored vector. The average length is fixed when the vectors are (re)built;
see `avgdl_drift`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping


def term_frequency_parts(tokens: str, *, avgdl: float, k1: float, b: float) -> dict[str, float]:
    """A passage's sparse vector by term: tf / (tf + k1 * (1 - b + b * dl / avgdl)), in bm25s's float order."""
    words = tokens.split()
    if not words:
        return {}
    norm = k1 * ((1 - b) + b * len(words) / avgdl)
    return {term: count / (norm + count) for term, count in Counter(words).items()}


def distinct_terms(tokens: str) -> set[str]:
    """The terms a passage contains, each once (what its document frequencies count)."""
    return set(tokens.split())


def inverse_document_frequency(document_frequency: int, passages: int) -> float:
    """bm25s's Lucene idf: ln(1 + (N - df + 0.5) / (df + 0.5))."""
    return math.log(1 + (passages - document_frequency + 0.5) / (document_frequency + 0.5))


def query_weights(
    weighted_terms: Mapping[str, float], frequencies: Mapping[str, int], *, passages: int
) -> dict[str, float]:
    """The query's sparse vector by term: weight * idf; terms no passage contains are left out."""
    return {
        term: weight * inverse_document_frequency(frequencies[term], passages)
        for term, weight in weighted_terms.items()
        if frequencies.get(term, 0) > 0 and weight != 0
    }


def average_length(total_tokens: int, passages: int) -> float:
    """The average passage length in tokens (1.0 for an empty collection, so nothing divides by zero)."""
    return total_tokens / passages if passages > 0 and total_tokens > 0 else 1.0


def avgdl_drift(stored_avgdl: float, total_tokens: int, passages: int) -> float:
    """How far the average length the stored vectors use is from today's, as a fraction of today's."""
    current = average_length(total_tokens, passages)
    return abs(stored_avgdl - current) / current
