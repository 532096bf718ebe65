"""Ingest throughput next to the raw encoder (the limit) and LlamaIndex (the peer), on the same documents.

Uses the first N SciFact abstracts from ../shared when present (real scientific prose), else the bundled
articles repeated. Footnote's figure is passages/s through `Collection.ingest` (chunking, embedding,
tokenising, SQLite, index updates) over a bare encode of the same passage texts: the goal is at least 0.9.
Against LlamaIndex the comparable unit is documents/s (each cuts its own passages): the goal is 1.5x.
Each embedding backend (torch, onnx, onnx-int8) is timed the same way.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, SHARED, report
from bench.embedding_cache import CACHE_HOME
from bench.peer_client import PeerUnavailableError, peer_available, peer_ingest
from index import Collection, CollectionSettings, Document, chunk_document, get_embedder, load_path, load_paths
from index.collection import passage_index_text


def benchmark_documents(count: int) -> tuple[str, list[Document]]:
    """Documents to ingest and where they came from."""
    scifact = SHARED / "datasets" / "scifact" / "corpus.jsonl"
    if scifact.exists():
        return f"first {count} SciFact abstracts", load_path(scifact)[:count]
    bundled = load_paths([str(PROJECT_ROOT / "corpus")])
    copies = [
        Document(id=f"{d.id}-{n}", title=d.title, text=d.text) for n in range(count // len(bundled)) for d in bundled
    ]
    return "bundled articles, repeated", copies


def measure_backend(backend: str, documents: list[Document], texts: list[str], *, pipeline: bool) -> dict[str, float]:
    """The raw encoder's rate for one embedding backend, and Footnote's ingest rate with it if `pipeline`."""
    settings = CollectionSettings()
    embedder = get_embedder("all-MiniLM-L6-v2", backend=backend, cache_dir=CACHE_HOME / "onnx")
    embedder.embed_passages(texts[:64])  # load (or export) the weights and warm up before timing anything
    started = time.perf_counter()
    embedder.embed_passages(texts)
    encoder_seconds = time.perf_counter() - started
    encoder = {
        "encoder_passages_per_s": round(len(texts) / encoder_seconds, 1),
        "encoder_documents_per_s": round(len(documents) / encoder_seconds, 2),
    }
    if not pipeline:
        return encoder
    with tempfile.TemporaryDirectory() as home:
        collection = Collection(Path(home), embedder=embedder, settings=settings)
        started = time.perf_counter()
        results = collection.ingest(documents)
        pipeline_seconds = time.perf_counter() - started
        collection.close()
    passages = sum(r.passages for r in results)
    assert passages == len(texts)
    return {
        **encoder,
        "footnote_passages_per_s": round(passages / pipeline_seconds, 1),
        "footnote_documents_per_s": round(len(documents) / pipeline_seconds, 2),
    }


def run(*, documents: int = 200, backends: tuple[str, ...] = ("torch", "onnx", "onnx-int8")) -> dict[str, Any]:
    """Every ingest figure as one record; the peer is skipped (with a note) when its virtualenv is missing.

    Footnote's whole ingest is timed with torch (the default) and onnx-int8 (the fastest); plain onnx gives the
    same vectors as torch, so only its encoder is timed.
    """
    source, chosen = benchmark_documents(documents)
    settings = CollectionSettings()
    texts = [passage_index_text(d.title, p) for d in chosen for p in chunk_document(d, settings.chunking)]
    figures: dict[str, Any] = {
        "source": source,
        "documents": len(chosen),
        "passages": len(texts),
        "chunk_max_words": settings.chunking.max_words,
        "backends": {},
    }
    for backend in backends:
        measured = measure_backend(backend, chosen, texts, pipeline=backend != "onnx")
        if backend == "torch":
            figures.update(measured)
        figures["backends"][backend] = measured
    if peer_available():
        try:
            peer = peer_ingest(chosen)
        except PeerUnavailableError as error:
            figures["peer_error"] = str(error)
        else:
            figures["peer_documents_per_s"] = peer["documents_per_s"]
            figures["peer_passages_per_s"] = peer["passages_per_s"]
            figures["peer_passages"] = peer["passages"]
            figures["peer_settings"] = peer["settings"]
            figures["peer_versions"] = peer["versions"]
    else:
        figures["peer_error"] = "no .venv-peer: run `make bench-peer`"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8"])
    args = parser.parse_args()
    figures = run(documents=args.documents, backends=tuple(args.backends))
    report("ingest_throughput", settings={"model": "all-MiniLM-L6-v2"}, figures=figures)


if __name__ == "__main__":
    main()
