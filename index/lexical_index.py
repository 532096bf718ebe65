"""Lexical (BM25) search over passages, keyed by the store's passage row ids."""

from __future__ import annotations

import re
import threading
from array import array
from collections import Counter, defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

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

    Partitions only the scores that can be among the `n` best: those at or above a cut estimated from a sample
    (see `_likely_best`), else every positive one (a query of rare terms touches a small share of the passages).
    Equal scores at the cut go to the lower row ids, so the result is the head of the full ranking by (score
    descending, row id), the order fusion uses.
    """
    likely = _likely_best(scores, n)
    positive = likely if likely is not None else np.flatnonzero(scores > 0)
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


# Past this many scores, `top_n` first estimates its cut from every k-th score: at 1e6 passages partitioning all
# the positive scores took 2.4 ms of a BM25 pass's 6.
_SAMPLED_CUT_FROM = 20_000


def _likely_best(scores: Scores, n: int) -> npt.NDArray[np.intp] | None:
    """Positions of every positive score at or above a cut taken from a sample, when at least `n` are: the `n`
    best are then all among them (the n-th best is at or above the cut), and ties at it too. None when the sample
    does not give such a cut; the caller then partitions every positive score.

    The sample is every k-th score, and the cut its 2n/k-th best: about twice `n` scores pass it, one vectorised
    comparison instead of a partition of all of them.
    """
    if len(scores) < _SAMPLED_CUT_FROM or n <= 0:
        return None
    step = len(scores) // (16 * n)
    if step < 4:  # the sample would be most of the scores
        return None
    # Sorted, not partitioned: numpy's partition of a sample of mostly zeros took 1.2 ms, its sort 0.05.
    sample = np.sort(scores[::step])
    cut = sample[len(sample) - min(len(sample), max(2, 2 * n // step))]
    if cut <= 0:
        return None
    likely = np.flatnonzero(scores >= cut)
    return likely if len(likely) >= n else None


class Bm25Index:
    """BM25 (Lucene variant, as bm25s scores it) over an immutable sparse index, rebuilt by `refresh` after changes.

    Every passage's term scores are precomputed, so a change means a rebuild: seconds at 1e5 passages. The
    writer calls `refresh`, which builds outside the lock and swaps the new index in; searches meanwhile
    use the previous index, minus the passages removed since, so they never wait for a rebuild.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._rowids: list[int] = []
        # Space-separated, as stored: split lists of 1e6 passages would hold ~1e8 string objects (GBs).
        self._tokens: list[str] = []
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
            self._tokens.extend(tokens)
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
            return [
                Counter(self._tokens[position[int(r)]].split()) if int(r) in position else Counter() for r in rowids
            ]

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many passages contain each term (0 for a term the collection never uses)."""
        with self._lock:
            built = self._current()
        if built is None:
            return dict.fromkeys(terms, 0)
        return {term: built.document_frequency(term) for term in terms}

    def parts(self) -> tuple[list[int], list[str], _BuiltIndex | None]:
        """Row ids, tokens and the built index, for saving; call after `refresh` so the index covers every row."""
        with self._lock:
            if self._built_version != self._version:
                raise RuntimeError("the lexical index has changes not yet built: refresh it first")
            return self._rowids, self._tokens, self._built

    def restore(self, rowids: list[int], tokens: list[str], built: BuiltParts | None) -> None:
        """Replace the contents with saved ones (see `parts`), without rebuilding."""
        with self._lock:
            self._rowids, self._tokens = rowids, tokens
            self._built = None if built is None else _BuiltIndex.from_parts(built, k1=self.k1, b=self.b)
            self._version += 1
            self._built_version = self._version
            self._removed_since_build = set()
            self._position = None

    def _current(self) -> _BuiltIndex | None:
        # Only an index never built is built here, under the lock; after that, `refresh` keeps it current.
        if self._built is None and self._rowids and self._built_version == -1:
            self._built = self._build(self._tokens, self._rowids)
            self._built_version = self._version
            self._removed_since_build = set()
        return self._built

    def _build(self, tokens: list[str], rowids: list[int]) -> _BuiltIndex | None:
        # No passage with a single term (only punctuation or stop words, say) leaves nothing to index: lexical
        # search then finds nothing, as it should.
        if not any(text.strip() for text in tokens):
            return None
        return _BuiltIndex(tokens, np.asarray(rowids, dtype=np.int64), k1=self.k1, b=self.b)


def _token_ids(tokens: list[str]) -> tuple[dict[str, int], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Each distinct token numbered in order of first use, every passage's tokens as those numbers (all in one
    array), and each passage's token count. One C-level map per passage; no Python loop per token."""
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__  # an unseen token gets the next number
    ids = array("i")
    lengths = array("q")
    for text in tokens:
        words = text.split()
        ids.extend(map(vocabulary.__getitem__, words))
        lengths.append(len(words))
    return dict(vocabulary), np.frombuffer(ids, dtype=np.int32), np.frombuffer(lengths, dtype=np.int64)


class BuiltParts(NamedTuple):
    """A built BM25 index as plain arrays: the CSC term-score matrix, its vocabulary in column order, row ids."""

    data: npt.NDArray[np.float32]
    indices: npt.NDArray[np.integer[Any]]
    indptr: npt.NDArray[np.integer[Any]]
    passages: int
    terms: list[str]
    rowids: RowIds


class _BuiltIndex:
    """An immutable BM25 index: a passages x vocabulary matrix of precomputed term scores (CSC).

    The scores are bm25s's "lucene" BM25 (the library this replaced, and the scorer of the research), built
    with array operations instead of its per-passage Python loops: at 1e5 passages opening a store spent
    most of its time in those (see docs/benchmarks.md). `tests/index/test_lexical_index.py` pins the scores
    to bm25s's.
    """

    def __init__(self, tokens: list[str], rowids: RowIds, *, k1: float, b: float) -> None:
        import scipy.sparse as sparse

        vocabulary, term_ids, lengths = _token_ids(tokens)
        passages = np.repeat(np.arange(len(tokens), dtype=np.int32), lengths)
        # COO to CSC adds up repeated (passage, term) pairs: the term frequencies, grouped by term.
        counts: Any = sparse.csc_matrix(
            (np.ones(len(term_ids), dtype=np.float32), (passages, term_ids)), shape=(len(tokens), len(vocabulary))
        )
        del passages, term_ids
        counts.sum_duplicates()
        counts.sort_indices()
        frequencies = np.diff(counts.indptr)
        # bm25s: IDF from float64 rounded to float32, the tf part in float64, the product stored as float32.
        idf = np.log(1.0 + (len(tokens) - frequencies + 0.5) / (frequencies + 0.5)).astype(np.float32)
        relative_length = lengths[counts.indices] / lengths.mean()
        tf = counts.data.astype(np.float64)
        counts.data = (np.repeat(idf, frequencies) * (tf / (k1 * ((1 - b) + b * relative_length) + tf))).astype(
            np.float32
        )
        self.matrix: Any = counts
        self.vocabulary = vocabulary
        self.rowids = rowids

    def to_parts(self) -> BuiltParts:
        """The index as plain arrays, for saving."""
        matrix = self.matrix
        return BuiltParts(
            matrix.data, matrix.indices, matrix.indptr, matrix.shape[0], list(self.vocabulary), self.rowids
        )

    @classmethod
    def from_parts(cls, parts: BuiltParts, *, k1: float, b: float) -> _BuiltIndex:
        """The index from saved arrays, as built (the same scores bit for bit), without recomputing anything."""
        import scipy.sparse as sparse

        built = cls.__new__(cls)
        shape = (parts.passages, len(parts.terms))
        built.matrix = sparse.csc_matrix((parts.data, parts.indices, parts.indptr), shape=shape, copy=False)
        built.vocabulary = {term: column for column, term in enumerate(parts.terms)}
        built.rowids = parts.rowids
        return built

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
