"""An embedder that reuses the vectors it already holds and embeds only the texts it has not seen.

The store's repair (salvage.py) seeds it with the vectors a damaged store still holds intact; the SciFact
benchmark with vectors cached on disk. Either way the vectors must come from the same model as `inner`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from index.embedding import Embedder, Vectors


def _same_text(text: str) -> str:
    return text


class ReusingEmbedder:
    """Wraps `inner`: a passage whose key (by default its text) is in `known` gets that vector back."""

    def __init__(
        self, inner: Embedder, known: dict[str, Vectors] | None = None, *, key: Callable[[str], str] = _same_text
    ) -> None:
        self.inner = inner
        self.known = known if known is not None else {}
        self.key = key
        self.reused = 0
        self.embedded = 0
        self._sized = False

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_passages(self, texts: list[str]) -> Vectors:
        """Known vectors where there are some; the other texts embedded now (each once) and remembered."""
        if self.known and texts and not self._sized:
            self._sized = True
            # A vector of another size (damage the checksums could not see in a schema-1 store) is not reused.
            size = self.inner.dimension
            self.known = {key: vector for key, vector in self.known.items() if vector.shape == (size,)}
        keys = [self.key(text) for text in texts]
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in self.known}
        if missing:
            self.known.update(zip(missing, self.inner.embed_passages(list(missing.values())), strict=True))
        self.embedded += sum(1 for key in keys if key in missing)
        self.reused += sum(1 for key in keys if key not in missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self.known[key] for key in keys]).astype(np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)
