"""Lexical (BM25) search over passages, keyed by the store's passage row ids."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from index.vector_index import RowIds, Scores

_WORD = re.compile(r"(?u)\b\w\w+\b")


class LexicalIndex(Protocol):
    """Keyword search over tokenised passages identified by row ids."""

    def __len__(self) -> int: ...

    def add(self, rowids: RowIds, tokens: list[str]) -> None: ...

    def remove(self, rowids: RowIds) -> None: ...

    def score_all(self, weighted_terms: Mapping[str, float]) -> tuple[RowIds, Scores]: ...

    def term_frequencies(self, rowids: RowIds) -> list[Counter[str]]: ...

    def document_frequencies(self, terms: list[str]) -> dict[str, int]: ...


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed English words of two or more characters, without stop words (BM25's tokens)."""
    stopwords = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stopwords]
    return list(_stemmer().stemWords(words))


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning: also without question words and auxiliaries ("where", "did").

    BM25 keeps those (they cost nothing when absent), but a check of whether a quote covers a question's
    or a claim's words must not count them.
    """
    function_words = _function_words()
    words = [w for w in _WORD.findall(text.lower()) if w not in function_words]
    return list(_stemmer().stemWords(words))


def query_terms(text: str) -> dict[str, float]:
    """A query as term weights: each distinct term once, weights summing to 1."""
    counts = Counter(tokenize(text))
    total = sum(counts.values())
    return {term: count / total for term, count in counts.items()} if total else {}


def top_n(rowids: RowIds, scores: Scores, n: int) -> tuple[RowIds, Scores]:
    """The `n` highest positive scores with their row ids, best first, ties by row id.

    Partitions only the positive scores: a query of rare terms touches a small share of the passages, and
    partitioning all 1e5 scores cost 0.9 ms a search. Equal scores at the cut go to the lower row ids, so the
    result is the head of the full ranking by (score descending, row id), the order fusion uses.
    """
    positive = np.flatnonzero(scores > 0)
    n = min(n, len(positive))
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    values = scores[positive]
    if n < len(positive):
        cut = np.partition(values, len(values) - n)[len(values) - n]  # the n-th highest score
        above, tied = positive[values > cut], positive[values == cut]
        tied = tied[np.argsort(rowids[tied], kind="stable")][: n - len(above)]
        positive = np.concatenate([above, tied])
    order = np.lexsort((rowids[positive], -scores[positive]))
    chosen = positive[order]
    return rowids[chosen], scores[chosen]


class Bm25Index:
    """BM25 (Lucene variant) with bm25s over an immutable sparse index, rebuilt by `refresh` after changes.

    bm25s precomputes every passage's term scores, so a change means a rebuild: seconds at 1e5 passages. The
    writer calls `refresh`, which builds outside the lock and swaps the new index in; searches meanwhile
    use the previous index, minus the passages removed since, so they never wait for a rebuild.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._rowids: list[int] = []
        self._tokens: list[list[str]] = []
        self._built: _BuiltIndex | None = None
        self._version = 0
        self._built_version = -1
        self._removed_since_build: set[int] = set()
        self._position: dict[int, int] | None = None
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rowids)

    def add(self, rowids: RowIds, tokens: list[str]) -> None:
        """Add passages by row id with their space-separated tokens (as produced by `tokenize`)."""
        with self._lock:
            self._rowids.extend(int(r) for r in rowids)
            self._tokens.extend(t.split() for t in tokens)
            self._position = None
            self._version += 1

    def remove(self, rowids: RowIds) -> None:
        """Remove passages by row id; searches stop returning them at once."""
        gone = {int(r) for r in rowids}
        if not gone:
            return
        with self._lock:
            kept = [(r, t) for r, t in zip(self._rowids, self._tokens, strict=True) if r not in gone]
            self._rowids = [r for r, _ in kept]
            self._tokens = [t for _, t in kept]
            self._removed_since_build |= gone
            self._position = None
            self._version += 1

    def refresh(self) -> None:
        """Rebuild the sparse index from the current passages, outside the lock, and swap it in."""
        with self._refresh_lock:
            with self._lock:
                if self._built_version == self._version:
                    return
                version, tokens, rowids = self._version, list(self._tokens), list(self._rowids)
            built = self._build(tokens, rowids)
            with self._lock:
                self._built, self._built_version = built, version
                # Passages removed while this index was being built are in it: keep hiding them.
                self._removed_since_build = set(rowids) - set(self._rowids) if built is not None else set()

    def score_all(self, weighted_terms: Mapping[str, float]) -> tuple[RowIds, Scores]:
        """Every passage's BM25 score for a weighted query (each term's score times its weight)."""
        with self._lock:
            built = self._current()
            removed = list(self._removed_since_build)
        if built is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rowids, scores = built.rowids, built.score(weighted_terms)
        if removed:
            keep = ~np.isin(rowids, np.asarray(removed, dtype=np.int64))
            rowids, scores = rowids[keep], scores[keep]
        return rowids, scores

    def term_frequencies(self, rowids: RowIds) -> list[Counter[str]]:
        """The term counts of the given passages, in order, for pseudo-relevance feedback.

        A passage removed since it was found (its document deleted by a concurrent request) counts no terms:
        the list always lines up with `rowids`, so callers can pair it with their scores.
        """
        with self._lock:
            # Built once per change, not per question: at 1e5 passages the map alone took ~10 ms to build.
            if self._position is None:
                self._position = {rowid: index for index, rowid in enumerate(self._rowids)}
            position = self._position
            return [Counter(self._tokens[position[int(r)]]) if int(r) in position else Counter() for r in rowids]

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many passages contain each term (0 for a term the collection never uses)."""
        with self._lock:
            built = self._current()
        if built is None:
            return dict.fromkeys(terms, 0)
        return {term: built.document_frequency(term) for term in terms}

    def _current(self) -> _BuiltIndex | None:
        # Only an index never built is built here, under the lock; after that, `refresh` keeps it current.
        if self._built is None and self._rowids and self._built_version == -1:
            self._built = self._build(self._tokens, self._rowids)
            self._built_version = self._version
            self._removed_since_build = set()
        return self._built

    def _build(self, tokens: list[list[str]], rowids: list[int]) -> _BuiltIndex | None:
        # No passage with a single term (only punctuation or stop words, say) leaves nothing to index, and bm25s
        # cannot build an empty vocabulary: lexical search then finds nothing, as it should.
        if not any(tokens):
            return None
        return _BuiltIndex(tokens, np.asarray(rowids, dtype=np.int64), k1=self.k1, b=self.b)


class _BuiltIndex:
    """An immutable bm25s index: a passages x vocabulary matrix of precomputed term scores."""

    def __init__(self, tokens: list[list[str]], rowids: RowIds, *, k1: float, b: float) -> None:
        import bm25s
        import scipy.sparse as sparse

        # bm25s sets its own logger to DEBUG, which would print through any root handler.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        model = bm25s.BM25(k1=k1, b=b)
        model.index(tokens, show_progress=False)
        scores = model.scores
        self.matrix: Any = sparse.csc_matrix(
            (scores["data"], scores["indices"], scores["indptr"]),
            shape=(scores["num_docs"], len(scores["indptr"]) - 1),
        )
        self.vocabulary: dict[str, int] = dict(model.vocab_dict)
        self.rowids = rowids

    def document_frequency(self, term: str) -> int:
        column = self.vocabulary.get(term)
        if column is None:
            return 0
        return int(self.matrix.indptr[column + 1] - self.matrix.indptr[column])

    def score(self, weighted_terms: Mapping[str, float]) -> npt.NDArray[np.float32]:
        # Add each term's column straight from the CSC arrays: slicing the matrix by columns first copied every
        # posting list, which at 1e5 passages cost more than the sums. Same arithmetic as the sparse product
        # (float32 weights, one column after another), so the scores are bit for bit the same.
        accumulator = np.result_type(self.matrix.dtype, np.float32)
        scores = np.zeros(len(self.rowids), dtype=accumulator)
        indptr, indices, data = self.matrix.indptr, self.matrix.indices, self.matrix.data
        for term, weight in weighted_terms.items():
            column = self.vocabulary.get(term)
            if column is None:
                continue
            start, end = indptr[column], indptr[column + 1]
            scores[indices[start:end]] += data[start:end] * accumulator.type(np.float32(weight))
        return scores.astype(np.float32, copy=False)
