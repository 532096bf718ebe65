"""Dense search at scale on the Milvus backend: embedded FAISS vs milvus-lite FLAT vs milvus-lite HNSW (several
search breadths), p50/p95, recall@10 against exact search, and memory per million passages; then a paper
estimate for 1e8 passages.

Vectors are synthetic (384 dimensions, like all-MiniLM-L6-v2): unit vectors drawn around 1,000 centres, so
neighbourhoods are clustered as real embeddings are (uniformly random vectors are the worst case for HNSW and
would understate its recall). Queries are perturbed corpus vectors. Footnote's own search path is timed:
`FaissVectorIndex` for the embedded index (half-precision scan, exact re-scoring) and `MilvusStore.dense_search`
for Milvus (the visibility filter, and exact re-scoring of HNSW's shortlist). milvus-lite runs as a server
process, so its memory is read from that process alone. The query embedding is excluded everywhere.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentile_ms, report
from harness.milvus_results import milvus_section
from harness.milvus_server import milvus_lite_server
from index.embedding import Vectors
from index.milvus_state import LIVE, MilvusIndexType, MilvusSettings, PublishedState, row_key
from index.milvus_store import MilvusStore
from index.vector_index import FaissVectorIndex

DIMENSION = 384
K = 10
CENTRES = 1000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200


def clustered_vectors(rng: np.random.Generator, count: int) -> Vectors:
    """Unit vectors scattered around random centres."""
    centres = rng.standard_normal((CENTRES, DIMENSION)).astype(np.float32)
    vectors = centres[rng.integers(0, CENTRES, count)] + 0.6 * rng.standard_normal((count, DIMENSION)).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def exact_top(vectors: Vectors, queries: Vectors, k: int) -> list[set[int]]:
    """The true k nearest row ids of each query, by inner product in float32."""
    truth = []
    for query in queries:
        scores = vectors @ query
        truth.append({int(i) for i in np.argpartition(-scores, k)[:k]})
    return truth


def recall(found: list[list[int]], truth: list[set[int]]) -> float:
    """Mean recall@k."""
    return float(np.mean([len(set(f) & t) / len(t) for f, t in zip(found, truth, strict=True)]))


def rss_bytes(pid: int | None = None) -> int:
    """Resident memory of a process (this one by default)."""
    with open(f"/proc/{pid or 'self'}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def time_searches(search: Any, queries: Vectors) -> tuple[list[float], list[list[int]]]:
    """Durations and results of one search per query."""
    durations, found = [], []
    for query in queries:
        started = time.perf_counter()
        rowids, _ = search(query.reshape(1, -1))
        durations.append(time.perf_counter() - started)
        found.append([int(r) for r in rowids])
    return durations, found


def latency_row(name: str, durations: list[float], found: list[list[int]], truth: list[set[int]]) -> dict[str, Any]:
    return {
        "index": name,
        "p50_ms": round(percentile_ms(durations, 50), 2),
        "p95_ms": round(percentile_ms(durations, 95), 2),
        "recall_at_10": round(recall(found, truth), 4),
    }


def embedded_figures(vectors: Vectors, queries: Vectors, truth: list[set[int]]) -> tuple[dict[str, Any], float]:
    """The embedded flat FAISS index: latency, recall and bytes per passage (this process's growth)."""
    before = rss_bytes()
    index = FaissVectorIndex(DIMENSION, kind="flat")
    index.add(np.arange(len(vectors), dtype=np.int64), vectors)
    grown = rss_bytes() - before
    durations, found = time_searches(lambda q: index.search(q, K), queries)
    return latency_row("embedded FAISS flat (fp16 scan + exact re-score)", durations, found, truth), grown / len(
        vectors
    )


def fill_milvus(store: MilvusStore, vectors: Vectors, *, build: int) -> PublishedState:
    """One build holding the vectors (the text fields left short: this measures vector search)."""
    state = PublishedState(
        generation=1,
        build=build,
        documents=len(vectors),
        passages=len(vectors),
        total_tokens=len(vectors),
        avgdl=1.0,
        next_term_id=1,
        dimension=DIMENSION,
    )
    store.create_build(build, dimension=DIMENSION)
    rows = []
    for rowid, vector in enumerate(vectors):
        rows.append(
            {
                "key": row_key(1, rowid),
                "rowid": rowid,
                "vector": vector.tolist(),
                "sparse": {0: 1.0},
                "document_id": f"d{rowid}",
                "ordinal": 0,
                "start": 0,
                "end": 1,
                "checksum": 0,
                "generation": 1,
                "retired": LIVE,
                "title": "",
                "date": None,
                "source": None,
                "text": "x",
                "tokens": "x",
            }
        )
        if len(rows) == 5000:
            store.insert_passages(state, rows)
            rows = []
    store.insert_passages(state, rows)
    store.seal(state)
    store.load(state)
    return state


def milvus_figures(
    uri: str, pid: int, vectors: Vectors, queries: Vectors, truth: list[set[int]], efs: tuple[int, ...]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """milvus-lite FLAT, then HNSW at several search breadths; bytes per passage from the server's growth."""
    rows: list[dict[str, Any]] = []
    memory: dict[str, float] = {}
    kinds: tuple[MilvusIndexType, ...] = ("FLAT", "HNSW")
    for number, kind in enumerate(kinds, start=1):
        settings = MilvusSettings(
            uri=uri,
            collection=f"bench_{kind.lower()}",
            index_type=kind,
            hnsw_m=HNSW_M,
            hnsw_ef_construction=HNSW_EF_CONSTRUCTION,
            timeout_s=600,
        )
        store = MilvusStore(settings)
        before = rss_bytes(pid)
        started = time.perf_counter()
        state = fill_milvus(store, vectors, build=number)
        build_s = time.perf_counter() - started
        memory[kind] = (rss_bytes(pid) - before) / len(vectors)
        for ef in efs if kind == "HNSW" else (0,):
            searcher = MilvusStore(MilvusSettings(**{**settings.__dict__, "search_ef": ef})) if ef else store
            durations, found = time_searches(
                lambda q, s=searcher, published=state: s.dense_search(published, q, K), queries
            )
            name = "milvus-lite FLAT" if kind == "FLAT" else f"milvus-lite HNSW M={HNSW_M} ef={ef} (+ exact re-score)"
            rows.append({**latency_row(name, durations, found, truth), "build_s": round(build_s, 1)})
            if searcher is not store:
                searcher.close()
        store.close()
    return rows, memory


def paper_estimate(passages: float = 1e8) -> dict[str, Any]:
    """Memory, shards and replicas for `passages` on a Milvus cluster (arithmetic, not a measurement)."""
    vector = DIMENSION * 4
    hnsw_links = HNSW_M * 2 * 4  # level-0 neighbour ids, the bulk of the graph
    sparse = 60 * 8  # about 60 distinct terms per passage, an id and a float each
    scalars = 1500 + 1000 + 200  # text, tokens, ids and metadata (mmap'ed or on object storage in Milvus)
    node_gb = 64
    usable = 0.7  # headroom for segments being loaded, compaction and the query engine
    layouts = {}
    for name, per_passage in (
        ("HNSW float32", vector + hnsw_links + sparse),
        ("HNSW_SQ8", DIMENSION + hnsw_links + sparse),
        ("DiskANN (PQ in memory, vectors on SSD)", 64 + sparse),
    ):
        memory_gb = passages * per_passage / 1e9
        nodes = int(np.ceil(memory_gb / (node_gb * usable)))
        layouts[name] = {"memory_gb_per_replica": round(memory_gb), "query_nodes_64gb_per_replica": nodes}
    return {
        "passages": passages,
        "bytes_per_passage": {"vector": vector, "hnsw_links": hnsw_links, "sparse": sparse, "scalar_fields": scalars},
        "scalar_fields_gb_on_disk": round(passages * scalars / 1e9),
        "layouts": layouts,
        "shards": "8 (a shard is one insert stream, served by one node; 1.25e7 passages each, sealed in segments "
        "of about 0.5e6 rows, which query nodes load and search in parallel)",
        "replicas": "in-memory replicas multiply the query nodes above; 2 for availability, more for throughput",
    }


def run(
    *,
    sizes: tuple[int, ...] = (100_000,),
    queries: int = 100,
    efs: tuple[int, ...] = (32, 64, 128),
    milvus_up_to: int = 100_000,
) -> dict[str, Any]:
    """Every figure at every size; milvus-lite only up to `milvus_up_to` passages (it loads about 750 rows/s)."""
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {
        "settings": {
            "dimension": DIMENSION,
            "k": K,
            "queries": queries,
            "centres": CENTRES,
            "hnsw_m": HNSW_M,
            "hnsw_ef_construction": HNSW_EF_CONSTRUCTION,
            "load_average_before": [round(v, 2) for v in os.getloadavg()],
        },
        "sizes": {},
    }
    for size in sizes:
        vectors = clustered_vectors(rng, size)
        picks = rng.integers(0, size, queries)
        query_vectors = vectors[picks] + 0.3 * rng.standard_normal((queries, DIMENSION)).astype(np.float32)
        query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
        truth = exact_top(vectors, query_vectors, K)
        embedded, embedded_bytes = embedded_figures(vectors, query_vectors, truth)
        rows: list[dict[str, Any]] = []
        milvus_bytes: dict[str, float] = {}
        disk: float | None = None
        if size <= milvus_up_to:
            with tempfile.TemporaryDirectory() as folder, milvus_lite_server(Path(folder) / "milvus") as server:
                rows, milvus_bytes = milvus_figures(server.uri, server.pid, vectors, query_vectors, truth, efs)
                disk = sum(f.stat().st_size for f in (Path(folder) / "milvus").rglob("*") if f.is_file())
        results["sizes"][str(size)] = {
            "rows": [embedded, *rows],
            "memory_gb_per_million": {
                "embedded FAISS flat": round(embedded_bytes * 1e6 / 1e9, 2),
                **{f"milvus-lite {kind}": round(b * 1e6 / 1e9, 2) for kind, b in milvus_bytes.items()},
            },
            "milvus_lite_disk_gb_per_million": None if disk is None else round(disk / size * 1e6 / 1e9, 2),
        }
    results["settings"]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    results["settings"]["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    results["estimate_1e8"] = paper_estimate()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--efs", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--milvus-up-to", type=int, default=100_000, help="largest size milvus-lite is run at")
    args = parser.parse_args()
    figures = run(sizes=tuple(args.sizes), queries=args.queries, efs=tuple(args.efs), milvus_up_to=args.milvus_up_to)
    report("milvus_search", settings=figures["settings"], figures=figures)
    print(milvus_section(figures))


if __name__ == "__main__":
    main()
