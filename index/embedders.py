"""Which embedder a model and backend get, once per process: sentence-transformers on torch, or ONNX Runtime.

Apart from index/embedding.py (the embedder protocol and the torch embedder) so that the ONNX embedder, which
builds on that module, is not imported back by it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from index.embedding import DEFAULT_EMBEDDING_MODEL, Embedder, SentenceTransformerEmbedder


@lru_cache(maxsize=4)
def get_embedder(
    model: str = DEFAULT_EMBEDDING_MODEL, *, backend: str = "torch", cache_dir: Path | None = None
) -> Embedder:
    """One embedder per model and backend per process, so the weights load once.

    `backend` is "torch" (sentence-transformers), "onnx" or "onnx-int8" (ONNX Runtime, exported once into
    `cache_dir` from the local weights; see index/onnx_encoder.py).
    """
    if backend == "torch":
        return SentenceTransformerEmbedder(model)
    if backend not in ("onnx", "onnx-int8"):
        raise ValueError(f"unknown embedding backend {backend!r}: expected torch, onnx or onnx-int8")
    if cache_dir is None:
        raise ValueError("the ONNX backends need a cache folder for the exported model")
    from index.onnx_encoder import OnnxEmbedder

    return OnnxEmbedder(model, cache_dir=cache_dir, quantized=backend == "onnx-int8")
