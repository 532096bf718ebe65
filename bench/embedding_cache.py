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
from index.reusing_embedder import ReusingEmbedder

CACHE_HOME = Path(os.environ.get("FOOTNOTE_BENCH_CACHE", Path.home() / ".cache" / "footnote-bench"))
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def text_key(text: str) -> str:
    """A stable key for one text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder(ReusingEmbedder):
    """Wraps an embedder: passages already embedded by the same model and backend come from disk."""

    def __init__(self, inner: Embedder, *, backend: str, cache_home: Path = CACHE_HOME) -> None:
        self.path = cache_home / "embeddings" / f"{_UNSAFE.sub('_', inner.name)}-{backend}.npz"
        known: dict[str, Vectors] = {}
        if self.path.is_file():
            stored = np.load(self.path)
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        super().__init__(inner, known, key=text_key)

    @property
    def hits(self) -> int:
        return self.reused

    @property
    def misses(self) -> int:
        return self.embedded

    def embed_passages(self, texts: list[str]) -> Vectors:
        """Vectors from the cache where present; the rest embedded now and saved."""
        embedded_before = self.embedded
        vectors = super().embed_passages(texts)
        if self.embedded > embedded_before:
            self._save()
        return vectors

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial.npz")
        keys = list(self.known)
        np.savez(partial, keys=np.asarray(keys), vectors=np.stack([self.known[k] for k in keys]))
        partial.replace(self.path)
