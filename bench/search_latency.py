"""Search latency p50/p95 at 1e4 and 1e5 passages, excluding the query embedding, next to raw FAISS (the
limit) and LlamaIndex's FAISS retriever (the peer), over the same passages and query vectors.

The store is filled with synthetic passages (Zipf-distributed words, random unit vectors): latency
depends on sizes and posting-list lengths, not on meaning, and embedding 1e5 real passages would take
~20 minutes on 2 cores. The query embedding time is measured separately with the real model.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentile_ms, report, time_calls
from bench.peer_client import PeerUnavailableError, peer_available, peer_search
from index import Collection, CollectionSettings, Document, Passage, RetrievalSettings, Retriever, get_embedder
from index.chunking import CHUNKER_VERSION
from index.embedding import Vectors
from index.retrieval import RetrievalMode
from index.store import DATABASE_NAME, DocumentStore, PreparedDocument
from index.vector_index import build_parameters, faiss_threads

DIMENSION = 384
PASSAGES_PER_DOCUMENT = 10
WORDS_PER_PASSAGE = 110
VOCABULARY = 30_000
K = 6


class QueryPool:
    """An embedder stand-in that hands out precomputed query vectors, so timing excludes the model.

    A text given with its vector gets that vector every time (so two retrievers answer the same question the
    same way); any other text gets the next one.
    """

    name = "all-MiniLM-L6-v2"
    dimension = DIMENSION

    def __init__(self, vectors: Vectors, texts: list[str] | None = None) -> None:
        self._vectors = vectors
        self._next = 0
        self._known = {text: position for position, text in enumerate(texts or [])}

    def embed_passages(self, texts: list[str]) -> Vectors:
        raise NotImplementedError("the benchmark store is filled directly")

    def embed_query(self, text: str) -> Vectors:
        position = self._known.get(text)
        if position is None:
            self._next = (self._next + 1) % len(self._vectors)
            position = self._next
        return self._vectors[position : position + 1]


def unit_vectors(rng: np.random.Generator, count: int) -> Vectors:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def fill_store(home: Path, passages: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Write synthetic documents straight into the store; returns the vocabulary and the passage texts."""
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
    texts: list[str] = []
    for number in range(passages // PASSAGES_PER_DOCUMENT):
        rows = drawn[number * PASSAGES_PER_DOCUMENT : (number + 1) * PASSAGES_PER_DOCUMENT]
        bodies = [" ".join(vocabulary[i] for i in row) + "." for row in rows]
        text = "\n\n".join(bodies)
        texts.extend(bodies)
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
    return vocabulary, texts


def measure(size: int, queries: int, rng: np.random.Generator, *, peer: bool, exact: bool = True) -> dict[str, Any]:
    """Latency of every retriever over the same synthetic passages and the same query vectors.

    With `exact`, the previous defaults (every vector scanned, no BM25 term dropped) run on the same store and
    questions, question by question in turn with the defaults and the raw FAISS scan, so a drift in the
    machine's load hits all three alike; with the share of the k passages each default search has in common
    with them. The synthetic vectors are random, with none of the clusters an inverted file relies on, so the
    dense overlap here is a floor; SciFact measures the real cost.
    """
    import faiss

    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        vocabulary, passage_texts = fill_store(home, size, rng)
        query_vectors = unit_vectors(rng, queries)
        texts = [" ".join(rng.choice(vocabulary[:5000], size=8)) for _ in range(queries)]
        pool = QueryPool(query_vectors, texts)
        started = time.perf_counter()
        collection = Collection(home, embedder=pool, settings=CollectionSettings())
        open_seconds = time.perf_counter() - started
        figures: dict[str, Any] = {"open_store_s": round(open_seconds, 2)}
        threshold = CollectionSettings().exact_search_up_to
        figures["dense_approximate"] = threshold is not None and size > threshold
        vectors = collection.passage_vectors(collection.store.read_index_rows().rowids)
        raw = faiss.IndexFlatIP(DIMENSION)
        raw.add(vectors)
        previous = (
            Collection(home, embedder=pool, settings=CollectionSettings(exact_search_up_to=None)) if exact else None
        )
        modes: tuple[RetrievalMode, ...] = ("dense", "lexical", "hybrid")
        for mode in modes:
            contenders: dict[str, Any] = {
                mode: Retriever(collection, RetrievalSettings(k=K, mode=mode)),
                # k results, as every retriever here returns: the scan of all vectors is the cost, not k.
                "raw_faiss": lambda position: raw.search(query_vectors[position][None, :], K),
            }
            if previous is not None:
                contenders[f"{mode}_exact"] = Retriever(
                    previous, RetrievalSettings(k=K, mode=mode, max_term_share=None)
                )
            samples, found = _time_in_turn(contenders, texts)
            for name in contenders if mode == "hybrid" else [n for n in contenders if n != "raw_faiss"]:
                figures[f"{name}_p50_ms"] = round(percentile_ms(samples[name], 50), 2)
                figures[f"{name}_p95_ms"] = round(percentile_ms(samples[name], 95), 2)
            if previous is not None:
                pairs = zip(found[mode], found[f"{mode}_exact"], strict=True)
                shared = [len(set(a) & set(b)) / max(1, len(b)) for a, b in pairs]
                figures[f"{mode}_overlap_with_exact"] = round(float(np.mean(shared)), 3)
        collection.close()
        if previous is not None:
            previous.close()
    if peer:
        try:
            measured = peer_search(passage_texts, vectors, texts, query_vectors)
        except PeerUnavailableError as error:
            figures["peer_error"] = str(error)
        else:
            figures["peer_p50_ms"] = measured["p50_ms"]
            figures["peer_p95_ms"] = measured["p95_ms"]
            figures["peer_build_s"] = measured["build_s"]
    return figures


def _time_in_turn(
    contenders: dict[str, Any], texts: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[list[str]]]]:
    """Each question asked of every contender in turn (a Retriever, or a function of the question's position)."""
    with faiss_threads(1):
        for contender in contenders.values():  # warm caches (the lexical index is built lazily)
            contender.search(texts[0]) if isinstance(contender, Retriever) else contender(0)
    durations: dict[str, list[float]] = {name: [] for name in contenders}
    found: dict[str, list[list[str]]] = {name: [] for name in contenders}
    for position, text in enumerate(texts):
        for name, contender in contenders.items():
            if isinstance(contender, Retriever):
                started = time.perf_counter()
                results = contender.search(text)
                durations[name].append(time.perf_counter() - started)
                found[name].append([result.passage.id for result in results])
            else:
                with faiss_threads(1):
                    started = time.perf_counter()
                    contender(position)
                    durations[name].append(time.perf_counter() - started)
    return durations, found


def run(
    *, sizes: tuple[int, ...] = (10_000, 100_000), queries: int = 200, peer: bool = True, exact: bool = True
) -> dict[str, Any]:
    """Every latency figure as one record; the peer is skipped (with a note) when its virtualenv is missing."""
    rng = np.random.default_rng(0)
    asked_for_peer = peer
    peer = peer and peer_available()
    figures: dict[str, Any] = {str(size): measure(size, queries, rng, peer=peer, exact=exact) for size in sizes}
    if asked_for_peer and not peer:
        figures["peer_error"] = "no .venv-peer: run `make bench-peer`"
    embedder = get_embedder("all-MiniLM-L6-v2")
    embedder.embed_query("warm up")
    samples = time_calls(lambda: embedder.embed_query("why is Russia expanding its role?"), repeats=50)
    figures["query_embedding_p50_ms"] = round(percentile_ms(samples, 50), 2)
    figures["query_embedding_p95_ms"] = round(percentile_ms(samples, 95), 2)
    figures["settings"] = {
        "k": K,
        "candidates": RetrievalSettings().candidates,
        "index": "flat",
        "exact_search_up_to": CollectionSettings().exact_search_up_to,
        # The share of the inverted file's cells a search visits above that size (the code's, recorded with it).
        "ivf_probed_share": _ivf_probed_share(),
        "max_term_share": RetrievalSettings().max_term_share,
        "faiss_threads": 1,
        "queries": queries,
        "words_per_passage": WORDS_PER_PASSAGE,
        "vocabulary": VOCABULARY,
    }
    return figures


def _ivf_probed_share() -> float:
    share = build_parameters(kind="flat", exact_up_to=CollectionSettings().exact_search_up_to)["ivf"]
    assert isinstance(share, list)
    return float(share[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    # At 1e6 passages the peer and the exact-path comparison double the memory and the time: leave them out.
    parser.add_argument("--no-peer", action="store_true", help="skip LlamaIndex")
    parser.add_argument("--no-exact", action="store_true", help="skip the previous defaults' comparison")
    args = parser.parse_args()
    figures = run(sizes=tuple(args.sizes), queries=args.queries, peer=not args.no_peer, exact=not args.no_exact)
    report("search_latency", settings=figures.pop("settings"), figures=figures)


if __name__ == "__main__":
    main()
