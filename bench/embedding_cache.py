"""Passage vectors cached on disk by model, backend and text, so re-running the SciFact benchmark is fast.

Embedding SciFact's ~10,000 passages takes minutes on 2 cores; the quality figures do not depend on how long
that took, so later runs reuse the vectors (speed is measured separately, on fresh texts, in the ingest
benchmark).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from index import Embedder
from index.embedding import Vectors

CACHE_HOME = Path(os.environ.get("FOOTNOTE_BENCH_CACHE", Path.home() / ".cache" / "footnote-bench"))
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def text_key(text: str) -> str:
    """A stable key for one text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """Wraps an embedder: passages already embedded by the same model and backend come from disk."""

    def __init__(self, inner: Embedder, *, backend: str, cache_home: Path = CACHE_HOME) -> None:
        self.inner = inner
        self.path = cache_home / "embeddings" / f"{_UNSAFE.sub('_', inner.name)}-{backend}.npz"
        self._vectors: dict[str, Vectors] = {}
        self.hits = 0
        self.misses = 0
        if self.path.is_file():
            stored = np.load(self.path)
            self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_passages(self, texts: list[str]) -> Vectors:
        """Vectors from the cache where present; the rest embedded now and saved."""
        keys = [text_key(text) for text in texts]
        missing = sorted({key: text for key, text in zip(keys, texts, strict=True) if key not in self._vectors}.items())
        if missing:
            computed = self.inner.embed_passages([text for _, text in missing])
            self._vectors.update(zip([key for key, _ in missing], computed, strict=True))
            self._save()
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial.npz")
        keys = list(self._vectors)
        np.savez(partial, keys=np.asarray(keys), vectors=np.stack([self._vectors[k] for k in keys]))
        partial.replace(self.path)
