"""Search latency p50/p95 at 1e4 and 1e5 passages, excluding the query embedding, next to raw FAISS.

The store is filled with synthetic passages (Zipf-distributed words, random unit vectors): latency
depends on sizes and posting-list lengths, not on meaning, and embedding 1e5 real passages would take
~20 minutes on 2 cores. The query embedding time is measured separately with the real model.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import percentile_ms, report, time_calls
from index import Collection, CollectionSettings, Document, Passage, RetrievalSettings, Retriever, get_embedder
from index.chunking import CHUNKER_VERSION
from index.embedding import Vectors
from index.retrieval import RetrievalMode
from index.store import DATABASE_NAME, DocumentStore, PreparedDocument
from index.vector_index import faiss_threads

DIMENSION = 384
PASSAGES_PER_DOCUMENT = 10
WORDS_PER_PASSAGE = 110
VOCABULARY = 30_000


class QueryPool:
    """An embedder stand-in that hands out precomputed query vectors, so timing excludes the model."""

    name = "all-MiniLM-L6-v2"
    dimension = DIMENSION

    def __init__(self, vectors: Vectors) -> None:
        self._vectors = vectors
        self._next = 0

    def embed_passages(self, texts: list[str]) -> Vectors:
        raise NotImplementedError("the benchmark store is filled directly")

    def embed_query(self, text: str) -> Vectors:
        self._next = (self._next + 1) % len(self._vectors)
        return self._vectors[self._next : self._next + 1]


def unit_vectors(rng: np.random.Generator, count: int) -> Vectors:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def fill_store(home: Path, passages: int, rng: np.random.Generator) -> list[str]:
    """Write synthetic documents straight into the store; returns the vocabulary."""
    vocabulary = [f"w{n}" for n in range(VOCABULARY)]
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    weights /= weights.sum()
    store = DocumentStore(home / DATABASE_NAME)
    defaults = CollectionSettings()
    store.set_meta(
        {
            "embedding_model": QueryPool.name,
            "chunker_version": CHUNKER_VERSION,
            "chunk_max_words": str(defaults.chunking.max_words),
            "chunk_overlap_sentences": str(defaults.chunking.overlap_sentences),
            "lexical_title_repeats": str(defaults.lexical_title_repeats),
        }
    )
    # Draw every word at once: numpy's weighted choice re-reads all weights on each call.
    drawn = rng.choice(VOCABULARY, size=(passages, WORDS_PER_PASSAGE), p=weights)
    batch: list[PreparedDocument] = []
    for number in range(passages // PASSAGES_PER_DOCUMENT):
        rows = drawn[number * PASSAGES_PER_DOCUMENT : (number + 1) * PASSAGES_PER_DOCUMENT]
        bodies = [" ".join(vocabulary[i] for i in row) + "." for row in rows]
        text = "\n\n".join(bodies)
        spans, offset = [], 0
        for ordinal, body in enumerate(bodies):
            spans.append(Passage(f"d{number}", ordinal, offset, offset + len(body), body))
            offset += len(body) + 2
        document = Document(id=f"d{number}", title=f"Document {number}", text=text)
        tokens = [body.rstrip(".") for body in bodies]
        batch.append(PreparedDocument(document, spans, tokens, unit_vectors(rng, PASSAGES_PER_DOCUMENT)))
        if len(batch) == 500:
            store.write_documents(batch)
            batch = []
    if batch:
        store.write_documents(batch)
    store.close()
    return vocabulary


def measure(size: int, queries: int, rng: np.random.Generator) -> dict[str, float]:
    import faiss

    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        vocabulary = fill_store(home, size, rng)
        pool = QueryPool(unit_vectors(rng, queries))
        started = time.perf_counter()
        collection = Collection(home, embedder=pool, settings=CollectionSettings())
        open_seconds = time.perf_counter() - started
        texts = [" ".join(rng.choice(vocabulary[:5000], size=8)) for _ in range(queries)]
        figures: dict[str, float] = {"open_store_s": round(open_seconds, 2)}
        modes: tuple[RetrievalMode, ...] = ("dense", "lexical", "hybrid")
        for mode in modes:
            retriever = Retriever(collection, RetrievalSettings(k=6, mode=mode))
            retriever.search(texts[0])  # warm caches (the lexical index is built lazily)
            samples = _time_searches(retriever, texts)
            figures[f"{mode}_p50_ms"] = round(percentile_ms(samples, 50), 2)
            figures[f"{mode}_p95_ms"] = round(percentile_ms(samples, 95), 2)
        raw = faiss.IndexFlatIP(DIMENSION)
        raw.add(collection.passage_vectors(collection.store.read_index_rows().rowids))
        query_vectors = unit_vectors(rng, queries)
        iterator_raw = iter(range(queries))
        with faiss_threads(1):
            samples = time_calls(lambda: raw.search(query_vectors[next(iterator_raw)][None, :], 100), repeats=queries)
        figures["raw_faiss_flat_p50_ms"] = round(percentile_ms(samples, 50), 2)
        figures["raw_faiss_flat_p95_ms"] = round(percentile_ms(samples, 95), 2)
        collection.close()
    return figures


def _time_searches(retriever: Retriever, texts: list[str]) -> list[float]:
    durations = []
    for text in texts:
        started = time.perf_counter()
        retriever.search(text)
        durations.append(time.perf_counter() - started)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    figures: dict[str, object] = {str(size): measure(size, args.queries, rng) for size in args.sizes}
    embedder = get_embedder("all-MiniLM-L6-v2")
    embedder.embed_query("warm up")
    samples = time_calls(lambda: embedder.embed_query("why is Russia expanding its role?"), repeats=50)
    figures["query_embedding_p50_ms"] = round(percentile_ms(samples, 50), 2)
    figures["query_embedding_p95_ms"] = round(percentile_ms(samples, 95), 2)
    report(
        "search_latency",
        settings={
            "k": 6,
            "candidates": 100,
            "index": "flat",
            "faiss_threads": 1,
            "queries": args.queries,
            "words_per_passage": WORDS_PER_PASSAGE,
            "vocabulary": VOCABULARY,
        },
        figures=figures,
    )


if __name__ == "__main__":
    main()
