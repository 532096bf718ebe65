"""Markdown tables for bench/RESULTS.md from the figures of one run: pure formatting, no measuring.

Every figure is shown next to the limit (what the hardware and libraries allow: the raw encoder, a raw FAISS
scan) and the peer (LlamaIndex), as ratios computed from the same run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval.targets import TARGETS, load_targets

# The goals of issue 8.
INGEST_OVER_ENCODER_GOAL = 0.90
INGEST_OVER_PEER_GOAL = 1.5
SEARCH_SPEEDUP_OVER_PEER_GOAL = 2.0
SEARCH_GOAL_SIZE = "100000"

Results = Mapping[str, Any]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table; every row must have as many cells as the header."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {list(row)!r} has {len(row)} cells, the header {len(header)}")
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def number(value: float | None, digits: int = 1) -> str:
    """A figure with thousands separators, or a dash when it was not measured."""
    return "—" if value is None else f"{value:,.{digits}f}"


def ratio(value: float | None, reference: float | None) -> str:
    """value / reference as '1.23x' (higher is better for rates), or a dash when either is missing."""
    if value is None or reference is None or reference == 0:
        return "—"
    return f"{value / reference:.2f}x"


def speedup(duration: float | None, reference_duration: float | None) -> str:
    """How many times faster `duration` is than the reference: reference / duration, as '2.10x'."""
    if duration is None or reference_duration is None or duration == 0:
        return "—"
    return f"{reference_duration / duration:.2f}x"


def verdict(met: bool | None) -> str:
    """'met', '**not met**', or 'not measured'."""
    if met is None:
        return "not measured"
    return "met" if met else "**not met**"


def _at_least(value: float | None, reference: float | None, goal: float) -> bool | None:
    if value is None or reference is None or reference == 0:
        return None
    return value / reference >= goal


def _get(results: Results, *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def ingest_goals(results: Results) -> tuple[bool | None, bool | None]:
    """(Footnote ≥ 90% of the raw encoder's passages/s, Footnote ≥ 1.5x LlamaIndex's documents/s)."""
    ingest = _get(results, "ingest") or {}
    return (
        _at_least(
            ingest.get("footnote_passages_per_s"), ingest.get("encoder_passages_per_s"), INGEST_OVER_ENCODER_GOAL
        ),
        _at_least(ingest.get("footnote_documents_per_s"), ingest.get("peer_documents_per_s"), INGEST_OVER_PEER_GOAL),
    )


def search_goal(results: Results, mode: str = "hybrid") -> bool | None:
    """Footnote's p50 at 1e5 passages at least 2x faster than LlamaIndex's retriever."""
    size = _get(results, "search", SEARCH_GOAL_SIZE) or {}
    ours, peer = size.get(f"{mode}_p50_ms"), size.get("peer_p50_ms")
    return _at_least(peer, ours, SEARCH_SPEEDUP_OVER_PEER_GOAL)


def quality_goal(results: Results) -> bool | None:
    """Footnote's hybrid nDCG@10 on SciFact test above every published figure listed."""
    ours = _get(results, "quality", "systems", "footnote_hybrid", "ndcg_at_10")
    published = _get(results, "quality", "published") or []
    if ours is None or not published:
        return None
    return all(ours > figure for _, figure in published)


def headline_table(results: Results) -> str:
    """The one table the README shows: each goal with the figures behind it."""
    ingest = _get(results, "ingest") or {}
    large = _get(results, "search", SEARCH_GOAL_SIZE) or {}
    quality = _get(results, "quality") or {}
    systems = quality.get("systems", {})
    published = quality.get("published", [])
    best_published = max(published, key=lambda item: item[1]) if published else None
    over_encoder, over_peer = ingest_goals(results)
    hybrid = systems.get("footnote_hybrid", {}).get("ndcg_at_10")
    ask = _get(results, "ask") or {}
    rows = [
        [
            "Ingest, passages/s (SciFact abstracts)",
            number(ingest.get("footnote_passages_per_s")),
            f"raw encoder {number(ingest.get('encoder_passages_per_s'))}",
            f"{number(ingest.get('peer_passages_per_s'))} ({number(ingest.get('peer_documents_per_s'))} docs/s)",
            ratio(ingest.get("footnote_passages_per_s"), ingest.get("encoder_passages_per_s")),
            ratio(ingest.get("footnote_documents_per_s"), ingest.get("peer_documents_per_s")) + " (docs/s)",
            f"≥ 0.90x limit: {verdict(over_encoder)}; ≥ 1.5x peer: {verdict(over_peer)}",
        ],
    ]
    for mode, label in (("hybrid", "hybrid, the default"), ("dense", "dense only")):
        rows.append(
            [
                f"Search p50 at 1e5 passages, {label} (ms)",
                number(large.get(f"{mode}_p50_ms"), 2),
                f"raw FAISS {number(large.get('raw_faiss_p50_ms'), 2)}",
                number(large.get("peer_p50_ms"), 2),
                speedup(large.get("raw_faiss_p50_ms"), large.get(f"{mode}_p50_ms")),
                speedup(large.get(f"{mode}_p50_ms"), large.get("peer_p50_ms")) + " faster",
                f"≥ 2x faster than peer: {verdict(search_goal(results, mode))}",
            ]
        )
    rows.append(
        [
            "SciFact test nDCG@10, hybrid",
            number(hybrid, 3),
            "—",
            "—",
            "—",
            "—",
            f"above best published ({best_published[0]} {best_published[1]:.3f}): {verdict(quality_goal(results))}"
            if best_published
            else verdict(None),
        ]
    )
    rows.append(
        [
            "Embedded ask, time to first token p50 (s)",
            number(_seconds(ask.get("ttft_p50_ms")), 2),
            "—",
            "—",
            "—",
            "—",
            f"whole ask p50 {number(_seconds(ask.get('ask_total_p50_ms')), 2)} s; "
            f"extractive {number(_seconds(ask.get('extractive_total_p50_ms')), 2)} s",
        ]
    )
    header = ["measure", "Footnote", "limit", "LlamaIndex (peer)", "Footnote / limit", "Footnote vs peer", "goal"]
    return markdown_table(header, rows)


def _seconds(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000.0


def ingest_table(results: Results) -> str:
    """Throughput of every ingest path on the same documents."""
    ingest = _get(results, "ingest") or {}
    encoder = ingest.get("encoder_passages_per_s")
    peer_docs = ingest.get("peer_documents_per_s")
    rows = [
        [
            "raw SentenceTransformer.encode, torch (the limit)",
            number(encoder),
            number(ingest.get("encoder_documents_per_s"), 2),
            "1.00x",
            ratio(ingest.get("encoder_documents_per_s"), peer_docs),
        ],
        [
            "Footnote ingest, torch (default)",
            number(ingest.get("footnote_passages_per_s")),
            number(ingest.get("footnote_documents_per_s"), 2),
            ratio(ingest.get("footnote_passages_per_s"), encoder),
            ratio(ingest.get("footnote_documents_per_s"), peer_docs),
        ],
    ]
    for backend in ("onnx", "onnx-int8"):
        backend_figures = _get(results, "ingest", "backends", backend)
        if backend_figures and "footnote_passages_per_s" in backend_figures:
            rows.append(
                [
                    f"Footnote ingest, {backend}",
                    number(backend_figures.get("footnote_passages_per_s")),
                    number(backend_figures.get("footnote_documents_per_s"), 2),
                    ratio(backend_figures.get("footnote_passages_per_s"), encoder),
                    ratio(backend_figures.get("footnote_documents_per_s"), peer_docs),
                ]
            )
    rows.append(
        [
            "LlamaIndex pipeline (peer)",
            number(ingest.get("peer_passages_per_s")),
            number(peer_docs, 2),
            ratio(ingest.get("peer_passages_per_s"), encoder),
            "1.00x",
        ]
    )
    header = ["ingest path", "passages/s", "documents/s", "passages/s vs raw encoder", "documents/s vs peer"]
    return markdown_table(header, rows)


def search_table(results: Results) -> str:
    """Latency p50 / p95 per size and retriever, with ratios to raw FAISS and to LlamaIndex."""
    search = _get(results, "search") or {}
    rows = []
    for size in sorted((key for key in search if key.isdigit()), key=int):
        figures = search[size]
        entries = [
            ("raw FAISS flat scan (the limit)", "raw_faiss"),
            ("Footnote dense", "dense"),
            ("Footnote lexical (BM25 + RM3)", "lexical"),
            ("Footnote hybrid (default)", "hybrid"),
            ("LlamaIndex FAISS retriever (peer)", "peer"),
        ]
        for label, key in entries:
            p50, p95 = figures.get(f"{key}_p50_ms"), figures.get(f"{key}_p95_ms")
            if p50 is None:
                continue
            rows.append(
                [
                    f"{int(size):,}",
                    label,
                    f"{number(p50, 2)} / {number(p95, 2)}",
                    ratio(p50, figures.get("raw_faiss_p50_ms")),
                    speedup(p50, figures.get("peer_p50_ms")),
                ]
            )
    header = ["passages", "retriever", "p50 / p95 ms", "p50 / raw FAISS p50", "x faster than peer (p50)"]
    return markdown_table(header, rows)


_SYSTEM_LABELS = {
    "footnote_hybrid": "Footnote hybrid (default)",
    "footnote_dense": "Footnote dense only",
    "footnote_lexical": "Footnote lexical only (BM25 + RM3)",
    "bm25s": "bm25s BM25 (maintained library, stemmed, stop words)",
    "footnote_hybrid_onnx_int8": "Footnote hybrid, onnx-int8 embeddings",
    "footnote_dense_onnx_int8": "Footnote dense only, onnx-int8 embeddings",
}


def quality_table(results: Results) -> str:
    """nDCG@10, Recall@100 and MRR@10 of each system on SciFact test, with the published figures beside them."""
    quality = _get(results, "quality") or _get(results, "quality_reference") or {}
    rows = []
    for key, label in _SYSTEM_LABELS.items():
        scores = quality.get("systems", {}).get(key)
        if scores:
            rows.append(
                [
                    label,
                    number(scores.get("ndcg_at_10"), 3),
                    number(scores.get("recall_at_100"), 3),
                    number(scores.get("mrr_at_10"), 3),
                ]
            )
    for name, figure in quality.get("published", []):
        rows.append([f"Published: {name}", number(figure, 3), "", ""])
    return markdown_table(["system (SciFact test)", "nDCG@10", "Recall@100", "MRR@10"], rows)


def backends_table(results: Results) -> str:
    """Embedding backends: encoder speed against torch and what the vectors and rankings lose."""
    backends = _get(results, "backends") or {}
    torch_rate = _get(backends, "torch", "encoder_passages_per_s")
    rows = []
    for name in ("torch", "onnx", "onnx-int8"):
        figures = backends.get(name)
        if not figures:
            continue
        rows.append(
            [
                name,
                number(figures.get("encoder_passages_per_s")),
                ratio(figures.get("encoder_passages_per_s"), torch_rate),
                number(figures.get("cosine_to_torch_mean"), 4),
                number(figures.get("cosine_to_torch_min"), 4),
                number(figures.get("ndcg_at_10_dense"), 3),
                number(figures.get("ndcg_at_10_hybrid"), 3),
            ]
        )
    header = [
        "backend",
        "encoder passages/s",
        "vs torch",
        "cosine to torch, mean",
        "min",
        "SciFact nDCG@10 dense",
        "hybrid",
    ]
    return markdown_table(header, rows)


def ask_table(results: Results) -> str:
    """Embedded model and extractive answer timings, beside issue 14's latency targets."""
    ask = _get(results, "ask") or {}
    # The targets are the eval's own (eval/datasets/targets.json), per answering path.
    bounds = {
        (t.metric, t.answer_mode): number(_seconds(t.bound), 1).removesuffix(".0")
        for t in load_targets(TARGETS)[0]
        if t.dataset == "bundled" and t.metric in ("latency_p50_ms", "first_sentence_p50_ms")
    }
    whole = number(_seconds(ask.get("ask_total_p50_ms")), 2)
    whole_p95 = ask.get("ask_total_p95_ms")
    rows = [
        ["embedded model: time to first token (retrieval included)", number(_seconds(ask.get("ttft_p50_ms")), 2), ""],
        [
            "embedded model: first verified sentence",
            number(_seconds(ask.get("first_verified_p50_ms")), 2),
            f"≤ {bounds['first_sentence_p50_ms', 'generate']}",
        ],
        [
            "embedded model: whole ask (retrieval, generation, verification)",
            whole if whole_p95 is None else f"{whole} (p95 {number(_seconds(whole_p95), 2)})",
            f"≤ {bounds['latency_p50_ms', 'generate']}",
        ],
        [
            "extractive path: whole ask",
            number(_seconds(ask.get("extractive_total_p50_ms")), 2),
            f"≤ {bounds['latency_p50_ms', 'extractive']}",
        ],
    ]
    return markdown_table(["ask (bundled corpus)", "p50 s", "target s"], rows)
