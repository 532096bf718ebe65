"""Ingest throughput (passages/s) next to the raw encoder on the same passage texts, in one run.

Uses the first N SciFact abstracts from ../shared when present (real scientific prose), else the bundled
articles repeated. The ratio pipeline/encoder is the figure; the goal is at least 0.9.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import PROJECT_ROOT, SHARED, report
from index import Collection, CollectionSettings, Document, chunk_document, expand_paths, get_embedder, load_path
from index.collection import passage_index_text


def benchmark_documents(count: int) -> tuple[str, list[Document]]:
    """Documents to ingest and where they came from."""
    scifact = SHARED / "datasets" / "scifact" / "corpus.jsonl"
    if scifact.exists():
        return f"first {count} SciFact abstracts", load_path(scifact)[:count]
    bundled = [d for p in expand_paths([str(PROJECT_ROOT / "corpus")]) for d in load_path(p)]
    copies = [
        Document(id=f"{d.id}-{n}", title=d.title, text=d.text) for n in range(count // len(bundled)) for d in bundled
    ]
    return "bundled articles, repeated", copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=600)
    args = parser.parse_args()
    source, documents = benchmark_documents(args.documents)
    settings = CollectionSettings()
    embedder = get_embedder("all-MiniLM-L6-v2")
    texts = [passage_index_text(d.title, p) for d in documents for p in chunk_document(d, settings.chunking)]
    embedder.embed_passages(texts[:64])  # load the weights and warm up before timing anything

    started = time.perf_counter()
    embedder.embed_passages(texts)
    encoder_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as home:
        collection = Collection(Path(home), embedder=embedder, settings=settings)
        started = time.perf_counter()
        results = collection.ingest(documents)
        pipeline_seconds = time.perf_counter() - started
        collection.close()
    passages = sum(r.passages for r in results)
    assert passages == len(texts)
    encoder_rate = len(texts) / encoder_seconds
    pipeline_rate = passages / pipeline_seconds
    report(
        "ingest_throughput",
        settings={
            "source": source,
            "documents": len(documents),
            "passages": passages,
            "model": embedder.name,
            "chunk_max_words": settings.chunking.max_words,
        },
        figures={
            "encoder_passages_per_s": round(encoder_rate, 1),
            "pipeline_passages_per_s": round(pipeline_rate, 1),
            "pipeline_over_encoder": round(pipeline_rate / encoder_rate, 3),
        },
    )


if __name__ == "__main__":
    main()
