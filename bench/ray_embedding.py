"""Embedding throughput: one process (1 and 2 torch threads) against Ray actors on a local two-node cluster.

The same texts (4,000 of 50 words by default, cut from the bundled articles) and the same model
(all-MiniLM-L6-v2, batches of 64) everywhere. The cluster is harness/ray_cluster.py's: head and worker as separate
processes on 127.0.0.2 and 127.0.0.3, 1 CPU each, so 2 actors land on 2 nodes. Ray runs are `map_batches` over an
actor pool, as `footnote ingest --ray` embeds; each is timed with actor start-up (from submitting the dataset to
its last batch) and without it (from the moment the last actor had loaded its model: Ray Data hands out no batch
before every actor is up). The load average is read before and after each run: on a shared machine the figures
say as much about the neighbours as about Ray. Target on a quiet machine: 2 actors >= 1.6x one actor.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import time
from typing import Any

import numpy as np

from bench.common import PROJECT_ROOT, report
from harness.ray_cluster import local_ray_cluster
from index import get_embedder

MODEL = "all-MiniLM-L6-v2"
BATCH = 64
TARGET_RATIO = 1.6


def benchmark_texts(count: int, *, words: int = 50, seed: int = 0) -> list[str]:
    """`count` distinct windows of `words` words from the bundled articles (real prose, nothing to download)."""
    corpus = re.findall(
        r"\S+", " ".join(p.read_text(encoding="utf-8") for p in sorted((PROJECT_ROOT / "corpus").glob("*.md")))
    )
    rng = random.Random(seed)
    return [
        " ".join(corpus[start : start + words]) for start in (rng.randrange(len(corpus) - words) for _ in range(count))
    ]


def one_process(texts: list[str], *, threads: int) -> tuple[dict[str, Any], np.ndarray]:
    """Embed every text in this process with `threads` torch threads (model loaded and warmed beforehand)."""
    import torch

    embedder = get_embedder(MODEL)
    embedder.embed_passages(texts[:BATCH])
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        load_before = _load()
        started = time.perf_counter()
        vectors = embedder.embed_passages(texts)
        seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(previous)
    figures = {
        "seconds": round(seconds, 2),
        "texts_per_s": round(len(texts) / seconds, 1),
        "load": [load_before, _load()],
    }
    return figures, vectors


class _Actor:
    """A Ray actor holding the model; says when it was ready and what its start cost."""

    def __init__(self) -> None:
        import torch

        self._embedder = get_embedder(MODEL)
        self._embedder.embed_passages(["warm up"])
        self.ready_at = time.time()
        self.start_cpu_s = time.process_time()
        self.threads = torch.get_num_threads()
        self.rss_mb = _rss_mb()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import ray

        vectors = self._embedder.embed_passages([str(text) for text in batch["text"]])
        size = len(vectors)
        return {
            "index": batch["index"],
            "vector": vectors,
            "ready_at": np.full(size, self.ready_at),
            "start_cpu_s": np.full(size, self.start_cpu_s),
            "threads": np.full(size, self.threads),
            "rss_mb": np.full(size, self.rss_mb),
            "node": np.asarray([ray.util.get_node_ip_address()] * size, dtype=object),  # type: ignore[no-untyped-call]
        }


def on_ray(ray: Any, texts: list[str], *, actors: int) -> tuple[dict[str, Any], np.ndarray]:
    """Embed every text with a pool of `actors` actors; timed with and without their start-up."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.wait_for_min_actors_s = 600
    items = [{"index": i, "text": text} for i, text in enumerate(texts)]
    load_before = _load()
    started = time.time()
    dataset = ray.data.from_items(items, override_num_blocks=max(actors * 4, 8)).map_batches(
        _Actor,
        batch_size=BATCH,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=1,
    )
    rows = dataset.take_all()
    finished = time.time()
    ready = max(float(row["ready_at"]) for row in rows)
    vectors = np.vstack([row["vector"] for row in sorted(rows, key=lambda row: int(row["index"]))])
    per_actor = {(str(row["node"]), float(row["ready_at"])): row for row in rows}
    nodes: dict[str, int] = {}
    for row in rows:
        nodes[str(row["node"])] = nodes.get(str(row["node"]), 0) + 1
    figures = {
        "seconds_with_startup": round(finished - started, 2),
        "seconds_without_startup": round(finished - ready, 2),
        "texts_per_s_with_startup": round(len(texts) / (finished - started), 1),
        "texts_per_s_without_startup": round(len(texts) / (finished - ready), 1),
        "actor_start_cpu_s": [round(float(row["start_cpu_s"]), 1) for row in per_actor.values()],
        "actor_rss_mb": [round(float(row["rss_mb"])) for row in per_actor.values()],
        "actor_torch_threads": sorted({int(row["threads"]) for row in per_actor.values()}),
        "texts_by_node": nodes,
        "load": [load_before, _load()],
    }
    return figures, vectors


def run(*, texts: int = 4000) -> dict[str, Any]:
    """Every figure as one record, the ratios included."""
    chosen = benchmark_texts(texts)
    figures: dict[str, Any] = {"texts": len(chosen), "words_per_text": 50, "batch_size": BATCH, "model": MODEL}
    figures["one_process_1_thread"], reference = one_process(chosen, threads=1)
    figures["one_process_2_threads"], _ = one_process(chosen, threads=2)
    with local_ray_cluster(object_store_bytes=300_000_000) as cluster:
        figures["idle_cluster_rss_mb"] = round(cluster.rss_bytes() / 2**20)
        os.environ.update({key: cluster.env[key] for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")})
        import ray

        ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
        try:
            for actors in (1, 2):
                measured, vectors = on_ray(ray, chosen, actors=actors)
                measured["max_abs_difference_to_one_process"] = float(np.abs(vectors - reference).max())
                figures[f"ray_{actors}_actor{'s' if actors > 1 else ''}"] = measured
        finally:
            ray.shutdown()
    figures["ratios"] = _ratios(figures)
    return figures


def _ratios(figures: dict[str, Any]) -> dict[str, float]:
    one, two = figures["ray_1_actor"], figures["ray_2_actors"]
    single = figures["one_process_1_thread"]["seconds"]
    return {
        "one_process_2_threads_vs_1": round(single / figures["one_process_2_threads"]["seconds"], 2),
        "ray_1_actor_vs_one_process_without_startup": round(single / one["seconds_without_startup"], 2),
        "ray_2_actors_vs_1_without_startup": round(one["seconds_without_startup"] / two["seconds_without_startup"], 2),
        "ray_2_actors_vs_1_with_startup": round(one["seconds_with_startup"] / two["seconds_with_startup"], 2),
        "ray_2_actors_vs_one_process_with_startup": round(single / two["seconds_with_startup"], 2),
    }


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _rss_mb() -> float:
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=4000)
    args = parser.parse_args()
    figures = run(texts=args.texts)
    report(
        "ray_embedding",
        settings={"model": MODEL, "batch_size": BATCH, "target_2_actors_vs_1": TARGET_RATIO},
        figures=figures,
    )
    ratios = figures["ratios"]
    print(
        f"2 actors vs 1 (without start-up): {ratios['ray_2_actors_vs_1_without_startup']}x "
        f"(target {TARGET_RATIO}x on a quiet machine); load average "
        f"{figures['ray_2_actors']['load']}",
    )


if __name__ == "__main__":
    main()
