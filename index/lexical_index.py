"""Lexical (BM25) search over passages, keyed by the store's passage row ids."""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from index.vector_index import RowIds, Scores

_WORD = re.compile(r"(?u)\b\w\w+\b")


class LexicalIndex(Protocol):
    """Keyword search over tokenised passages identified by row ids."""

    def __len__(self) -> int: ...

    def add(self, rowids: RowIds, tokens: list[str]) -> None: ...

    def remove(self, rowids: RowIds) -> None: ...

    def search(self, query: str, n: int) -> tuple[RowIds, Scores]: ...


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed English words of two or more characters, without stop words."""
    stopwords = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stopwords]
    return list(_stemmer().stemWords(words))


class Bm25Index:
    """BM25 with bm25s; the sparse index is rebuilt lazily after changes, on the next search."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._rowids: list[int] = []
        self._tokens: list[list[str]] = []
        self._model: Any = None
        self._model_rowids: RowIds = np.zeros(0, dtype=np.int64)
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._rowids)

    def add(self, rowids: RowIds, tokens: list[str]) -> None:
        """Add passages by row id with their space-separated tokens (as produced by `tokenize`)."""
        with self._lock:
            self._rowids.extend(int(r) for r in rowids)
            self._tokens.extend(t.split() for t in tokens)
            self._model = None

    def remove(self, rowids: RowIds) -> None:
        """Remove passages by row id."""
        gone = {int(r) for r in rowids}
        if not gone:
            return
        with self._lock:
            kept = [(r, t) for r, t in zip(self._rowids, self._tokens, strict=True) if r not in gone]
            self._rowids = [r for r, _ in kept]
            self._tokens = [t for _, t in kept]
            self._model = None

    def search(self, query: str, n: int) -> tuple[RowIds, Scores]:
        """The `n` best-scoring row ids for the query, best first; passages sharing no word are left out."""
        terms = tokenize(query)
        with self._lock:
            model, rowids = self._built()
            if model is None or not terms:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            scores = np.asarray(model.get_scores(terms), dtype=np.float32)
        n = min(n, int(np.count_nonzero(scores)))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return rowids[top], scores[top]

    def _built(self) -> tuple[Any, RowIds]:
        if self._model is None and self._rowids:
            import bm25s

            # bm25s sets its own logger to DEBUG, which would print through any root handler.
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            model = bm25s.BM25(k1=self.k1, b=self.b)
            model.index(self._tokens, show_progress=False)
            self._model = model
            self._model_rowids = np.asarray(self._rowids, dtype=np.int64)
        return self._model, self._model_rowids
