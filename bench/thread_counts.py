"""The figures behind index/threads.py: each library's speed at 1 and 2 threads (or more with --threads).

Embedding a batch of SciFact passages (torch, and ONNX Runtime int8), embedding one query, one FAISS query at
1e5 vectors (the exact scan and the inverted file), and llama.cpp generation with the embedded model when its
file is present. Counts are tried in turn, twice (A B A B), and the median of each is kept, so a drift in the
machine's load hits both. Record the load average with the figures: on a busy machine a second thread
competes with other processes for the same cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import SHARED, report
from bench.embedding_cache import CACHE_HOME
from index import CollectionSettings, chunk_document, get_embedder, load_path
from index.collection import passage_index_text
from index.vector_index import FaissVectorIndex, faiss_threads


def alternate(run: Callable[[int], float], counts: tuple[int, ...], *, rounds: int = 2) -> dict[str, float]:
    """Median of `rounds` timings per thread count, the counts taken in turn each round."""
    timings: dict[int, list[float]] = {count: [] for count in counts}
    for _ in range(rounds):
        for count in counts:
            timings[count].append(run(count))
    return {str(count): round(statistics.median(values), 4) for count, values in timings.items()}


def torch_embedding(texts: list[str], counts: tuple[int, ...]) -> dict[str, Any]:
    import torch

    embedder = get_embedder("all-MiniLM-L6-v2")
    embedder.embed_passages(texts[:32])
    previous = torch.get_num_threads()

    def batch(count: int) -> float:
        torch.set_num_threads(count)
        started = time.perf_counter()
        embedder.embed_passages(texts)
        return len(texts) / (time.perf_counter() - started)

    def query(count: int) -> float:
        torch.set_num_threads(count)
        samples = []
        for text in texts[:30]:
            started = time.perf_counter()
            embedder.embed_query(text[:200])
            samples.append(time.perf_counter() - started)
        return 1000 * statistics.median(samples)

    try:
        return {"passages_per_s": alternate(batch, counts), "query_ms": alternate(query, counts)}
    finally:
        torch.set_num_threads(previous)


def onnx_int8_embedding(texts: list[str], counts: tuple[int, ...]) -> dict[str, Any]:
    import onnxruntime
    from transformers import AutoTokenizer

    from index.embedding import resolve_model_path
    from index.onnx_encoder import exported_model

    get_embedder("all-MiniLM-L6-v2", backend="onnx-int8", cache_dir=CACHE_HOME / "onnx").embed_query("export")
    source = resolve_model_path("all-MiniLM-L6-v2")
    path = exported_model(Path(source), CACHE_HOME / "onnx", quantized=True)
    tokenizer = AutoTokenizer.from_pretrained(source)
    sessions = {}
    for count in counts:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = count
        sessions[count] = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in sessions[counts[0]].get_inputs()]
    batches = []
    for start in range(0, len(texts), 32):
        encoded = tokenizer(
            texts[start : start + 32], padding=True, truncation=True, max_length=256, return_tensors="np"
        )
        batches.append({name: encoded[name].astype(np.int64) for name in names})

    def batch(count: int) -> float:
        started = time.perf_counter()
        for feeds in batches:
            sessions[count].run(None, feeds)
        return len(texts) / (time.perf_counter() - started)

    return {"passages_per_s": alternate(batch, counts)}


def faiss_search(counts: tuple[int, ...], *, size: int = 100_000) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((size, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.integers(0, size, 50)]
    figures: dict[str, Any] = {}
    for name, exact_up_to in (("flat_scan_ms", None), ("inverted_file_ms", 1000)):
        index = FaissVectorIndex(384, exact_up_to=exact_up_to)
        index.add(np.arange(size, dtype=np.int64), vectors)

        def one_query(count: int, index: FaissVectorIndex = index) -> float:
            samples = []
            for query in queries:
                with faiss_threads(count):
                    # The index's own search pins one thread; time FAISS's part at `count` threads directly.
                    started = time.perf_counter()
                    index._index.search(query[None, :], 1250)
                    samples.append(time.perf_counter() - started)
            return 1000 * statistics.median(samples)

        figures[name] = alternate(one_query, counts)
    return figures


def llama_generation(counts: tuple[int, ...]) -> dict[str, Any]:
    try:
        from llama_cpp import Llama

        from service.answering.model_files import verified_model_path

        path = str(verified_model_path())
    except Exception as error:  # noqa: BLE001 - any missing piece means no figure, said in the output
        return {"error": str(error)}
    models: dict[int, Any] = {
        count: Llama(model_path=path, n_ctx=1024, n_threads=count, verbose=False, seed=0) for count in counts
    }
    prompt = "Summarise in one sentence why the sky is blue, for a child:"

    def generate(count: int) -> float:
        models[count].reset()
        started = time.perf_counter()
        out = models[count](prompt, max_tokens=32, temperature=0.0)
        return int(out["usage"]["completion_tokens"]) / (time.perf_counter() - started)

    figures = {"tokens_per_s": alternate(generate, counts), "model": os.path.basename(path)}
    for model in models.values():
        model.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--skip", nargs="*", default=[], choices=["torch", "onnx", "faiss", "llama"])
    args = parser.parse_args()
    counts = tuple(args.threads)
    chunking = CollectionSettings().chunking
    documents = load_path(SHARED / "datasets" / "scifact" / "corpus.jsonl")[:200]
    texts = [passage_index_text(d.title, p) for d in documents for p in chunk_document(d, chunking)][: args.passages]
    figures: dict[str, Any] = {"load_average_before": os.getloadavg()[0]}
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "torch": lambda: torch_embedding(texts, counts),
        "onnx": lambda: onnx_int8_embedding(texts, counts),
        "faiss": lambda: faiss_search(counts),
        "llama": lambda: llama_generation(counts),
    }
    for name, part in parts.items():
        if name not in args.skip:
            figures[name] = part()
            print(name, figures[name], flush=True)
    figures["load_average_after"] = os.getloadavg()[0]
    report("thread_counts", settings={"threads": list(counts), "passages": len(texts)}, figures=figures)


if __name__ == "__main__":
    main()
