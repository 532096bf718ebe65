"""The ONNX backends with the real bundled model: exported offline, close to torch, and kept apart in stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import Collection, Document, StoreMismatchError, get_embedder
from index.embedding import resolve_model_path
from index.onnx_encoder import EMBEDDING_BACKENDS, OnnxEmbedder, backend_model_name, exported_model
from tests.fakes import FakeEmbedder

SENTENCES = [
    "Russia held military exercises near the Afghan border.",
    "China plans to mine copper and lithium.",
    "Vitamin D supplements lower the risk of fractures in older adults, a trial found.",
]

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


def test_int8_gets_its_own_model_name_and_unknown_backends_are_refused(tmp_path: Path) -> None:
    assert EMBEDDING_BACKENDS == ("torch", "onnx", "onnx-int8")
    assert backend_model_name("all-MiniLM-L6-v2", "onnx") == "all-MiniLM-L6-v2"
    assert backend_model_name("all-MiniLM-L6-v2", "onnx-int8") == "all-MiniLM-L6-v2+onnx-int8"
    with pytest.raises(ValueError, match="unknown embedding backend"):
        get_embedder("all-MiniLM-L6-v2", backend="tensorflow", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="cache folder"):
        get_embedder("all-MiniLM-L6-v2", backend="onnx")


def test_a_model_that_is_not_a_local_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="local model folder"):
        OnnxEmbedder("no-such-org/no-such-model", cache_dir=tmp_path).embed_query("hello")


@pytest.mark.slow
def test_onnx_and_int8_agree_with_torch_and_the_export_is_cached(onnx_cache: Path) -> None:
    reference = get_embedder("all-MiniLM-L6-v2").embed_passages(SENTENCES)
    full = OnnxEmbedder(cache_dir=onnx_cache)
    int8 = OnnxEmbedder(cache_dir=onnx_cache, quantized=True)
    for embedder, floor in ((full, 0.9999), (int8, 0.97)):
        vectors = embedder.embed_passages(SENTENCES)
        assert vectors.shape == (3, 384) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert np.min(np.sum(vectors * reference, axis=1)) > floor
        # Batching by length must not reorder the output: each text keeps its own vector. (int8 activations are
        # quantised per batch, so a text alone comes out very slightly different from the same text in a batch.)
        alone = embedder.embed_query(SENTENCES[2])[0]
        assert alone @ vectors[2] > (0.99 if embedder is int8 else 0.99999)
        assert alone @ vectors[2] > max(alone @ vectors[0], alone @ vectors[1]) + 0.5
        query = embedder.embed_query("Where did Russian troops hold drills?")[0]
        assert vectors[0] @ query > vectors[1] @ query + 0.2
    assert int8.name == "all-MiniLM-L6-v2+onnx-int8" and full.name == "all-MiniLM-L6-v2"
    assert full.embed_passages([]).shape == (0, 384)
    exported = sorted(p.name for p in onnx_cache.rglob("*.onnx"))
    assert exported == ["model-int8.onnx", "model.onnx"]
    # A second request finds the cached files instead of exporting again.
    source = next(onnx_cache.rglob("model.onnx"))
    before = source.stat().st_mtime_ns
    assert exported_model(Path(resolve_model_path("all-MiniLM-L6-v2")), onnx_cache, quantized=False) == source
    assert source.stat().st_mtime_ns == before


def test_a_store_built_with_torch_vectors_refuses_an_int8_embedder(tmp_path: Path) -> None:
    collection = Collection(tmp_path, embedder=FakeEmbedder(name="all-MiniLM-L6-v2"))
    collection.ingest([Document(id="a", title="A", text="Some words about copper mining in Chile.")])
    collection.close()
    int8 = FakeEmbedder(name=backend_model_name("all-MiniLM-L6-v2", "onnx-int8"))
    with pytest.raises(StoreMismatchError, match="onnx-int8"):
        Collection(tmp_path, embedder=int8)
