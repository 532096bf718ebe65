"""Retrieval quality on SciFact test: Footnote hybrid, dense-only and lexical-only, BM25 from bm25s, and the
published figures from the dataset's README; then what the int8 ONNX embeddings cost in quality.

Footnote's systems are scored by eval/retrieval.py, the code behind `footnote eval retrieval`. Passage vectors
are cached under ~/.cache/footnote-bench by model and backend, so only the first run embeds the corpus.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import SHARED, report
from bench.embedding_cache import CACHE_HOME, CachedEmbedder
from eval.retrieval import BeirDataset, evaluate_retrieval, load_beir, ndcg_at, recall_at, reciprocal_rank_at
from index import Collection, CollectionSettings, RetrievalSettings, Retriever, get_embedder, tokenize
from index.retrieval import RetrievalMode

SCIFACT = SHARED / "datasets" / "scifact"
_PUBLISHED_ROW = re.compile(r"^\|\s*(?P<name>[^|]+?)\s*\|\s*~?(?P<value>0\.\d+)\s*\|\s*$")


def published_figures(readme: Path) -> list[tuple[str, float]]:
    """(system, nDCG@10) rows of the README's published table ('~0.679' read as 0.679)."""
    rows = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = _PUBLISHED_ROW.match(line.strip())
        if match:
            rows.append((match["name"], float(match["value"])))
    return rows


def bm25s_baseline(dataset: BeirDataset) -> dict[str, float]:
    """BM25 from the bm25s library over title + abstract, stemmed, English stop words removed."""
    import bm25s

    corpus_ids = [document.id for document in dataset.documents]
    corpus_tokens = [tokenize(f"{document.title}\n{document.text}") for document in dataset.documents]
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index(corpus_tokens, show_progress=False)
    ndcg, recall, mrr = [], [], []
    for query_id, text in dataset.queries.items():
        documents, _ = model.retrieve([tokenize(text)], k=100, show_progress=False, n_threads=1)
        ranking = [corpus_ids[int(i)] for i in documents[0]]
        relevant = dataset.qrels[query_id]
        ndcg.append(ndcg_at(ranking, relevant, 10))
        recall.append(recall_at(ranking, relevant, 100))
        mrr.append(reciprocal_rank_at(ranking, relevant, 10))
    return {
        "ndcg_at_10": statistics.fmean(ndcg),
        "recall_at_100": statistics.fmean(recall),
        "mrr_at_10": statistics.fmean(mrr),
    }


def score_modes(
    dataset: BeirDataset,
    embedder: CachedEmbedder,
    modes: tuple[RetrievalMode, ...],
    *,
    settings: CollectionSettings | None = None,
) -> dict[str, dict[str, Any]]:
    """Ingest the corpus into a temporary store and score each retrieval mode with the default settings."""
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as home:
        collection = Collection(Path(home), embedder=embedder, settings=settings or CollectionSettings())
        started = time.perf_counter()
        collection.ingest(dataset.documents)
        ingest_seconds = time.perf_counter() - started
        for mode in modes:
            retriever = Retriever(collection, RetrievalSettings(mode=mode))
            scores = evaluate_retrieval(dataset, retriever, split="test")
            results[mode] = {**dataclasses.asdict(scores), "ingest_s": round(ingest_seconds, 1)}
        collection.close()
    return results


def inverted_file_recall(dataset: BeirDataset, embedder: CachedEmbedder, texts: list[str]) -> dict[str, float]:
    """The inverted file's recall on real embeddings: SciFact's passages, its test claims as queries.

    SciFact is below the size where the inverted file switches on (`exact_search_up_to`), so it is forced on
    here, with the same cell count rule, against the exact scan: the share of each top-k found, and the same
    retrieval scored by nDCG with it forced on for the whole collection.
    """
    from index.vector_index import FaissVectorIndex

    vectors = embedder.embed_passages(texts)
    rowids = np.arange(len(texts), dtype=np.int64)
    exact, cells = FaissVectorIndex(vectors.shape[1]), FaissVectorIndex(vectors.shape[1], exact_up_to=1000)
    exact.add(rowids, vectors)
    cells.add(rowids, vectors)
    figures: dict[str, float] = {}
    for wanted in (10, 1000):
        shares = []
        for query in dataset.queries.values():
            vector = embedder.embed_query(query)
            truth, _ = exact.search(vector, wanted)
            found, _ = cells.search(vector, wanted)
            shares.append(len(set(truth.tolist()) & set(found.tolist())) / len(truth))
        figures[f"recall_at_{wanted}"] = float(np.mean(shares))
    forced = score_modes(dataset, embedder, ("hybrid", "dense"), settings=CollectionSettings(exact_search_up_to=1000))
    figures["ndcg_at_10_hybrid"] = forced["hybrid"]["ndcg_at_10"]
    figures["ndcg_at_10_dense"] = forced["dense"]["ndcg_at_10"]
    return figures


def cosine_agreement(reference: CachedEmbedder, other: CachedEmbedder, texts: list[str]) -> dict[str, float]:
    """Mean and minimum cosine between the two backends' vectors of the same passages (both normalised)."""
    cosines = np.sum(reference.embed_passages(texts) * other.embed_passages(texts), axis=1)
    return {"mean": float(cosines.mean()), "min": float(cosines.min()), "passages": float(len(texts))}


def run(*, backends: tuple[str, ...] = ("torch", "onnx-int8"), cache_home: Path = CACHE_HOME) -> dict[str, Any]:
    """Every quality figure of the benchmark, as one record."""
    dataset = load_beir(SCIFACT, split="test")
    onnx_cache = cache_home / "onnx"
    embedders = {
        backend: CachedEmbedder(
            get_embedder("all-MiniLM-L6-v2", backend=backend, cache_dir=onnx_cache),
            backend=backend,
            cache_home=cache_home,
        )
        for backend in backends
    }
    systems: dict[str, dict[str, Any]] = {}
    backend_figures: dict[str, dict[str, Any]] = {}
    passage_texts: list[str] = []
    inverted_file: dict[str, float] = {}
    for backend, embedder in embedders.items():
        modes: tuple[RetrievalMode, ...] = ("hybrid", "dense", "lexical") if backend == "torch" else ("hybrid", "dense")
        scored = score_modes(dataset, embedder, modes)
        suffix = "" if backend == "torch" else "_" + backend.replace("-", "_")
        for mode, scores in scored.items():
            systems[f"footnote_{mode}{suffix}"] = scores
        backend_figures[backend] = {
            "ndcg_at_10_dense": scored["dense"]["ndcg_at_10"],
            "ndcg_at_10_hybrid": scored["hybrid"]["ndcg_at_10"],
            "cache_hits": embedder.hits,
            "cache_misses": embedder.misses,
        }
    if "torch" in embedders:
        from index import chunk_document
        from index.collection import passage_index_text

        chunking = CollectionSettings().chunking
        passage_texts = [passage_index_text(d.title, p) for d in dataset.documents for p in chunk_document(d, chunking)]
        for backend, embedder in embedders.items():
            if backend != "torch":
                agreement = cosine_agreement(embedders["torch"], embedder, passage_texts)
                backend_figures[backend]["cosine_to_torch_mean"] = agreement["mean"]
                backend_figures[backend]["cosine_to_torch_min"] = agreement["min"]
        inverted_file = inverted_file_recall(dataset, embedders["torch"], passage_texts)
    systems["bm25s"] = bm25s_baseline(dataset)
    return {
        "inverted_file": inverted_file,
        "dataset": "BEIR SciFact",
        "split": "test",
        "queries": len(dataset.queries),
        "documents": len(dataset.documents),
        "passages": len(passage_texts),
        "systems": systems,
        "backends": backend_figures,
        "published": published_figures(SCIFACT / "README.md"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx-int8"])
    args = parser.parse_args()
    figures = run(backends=tuple(args.backends))
    report("scifact_quality", settings={"retrieval": dataclasses.asdict(RetrievalSettings())}, figures=figures)


if __name__ == "__main__":
    main()
