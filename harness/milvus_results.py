"""The Milvus section of bench/RESULTS.md, from bench/milvus_search.py's figures: pure formatting."""

from __future__ import annotations

from typing import Any


def milvus_section(figures: dict[str, Any] | None) -> str:
    """The section's markdown; says so when the part was not measured."""
    lines = ["## Milvus backend: dense search at scale", ""]
    if not figures:
        return "\n".join([*lines, "**Not measured in this run.**", ""])
    settings = figures.get("settings", {})
    lines += [
        f"Footnote's dense search path, k={settings.get('k')}, {settings.get('queries')} queries over "
        f"{settings.get('dimension')}-dimension synthetic vectors clustered around {settings.get('centres')} centres; "
        "recall@10 against exact search. milvus-lite runs as a local server process (a pure-Python engine: a Milvus "
        "cluster runs the same calls in C++; the HNSW rows include fetching the shortlist's vectors), HNSW with M="
        f"{settings.get('hnsw_m')}, efConstruction={settings.get('hnsw_ef_construction')}, its shortlist re-scored "
        f"exactly. Load average (1 min, 5, 15) before / after: {settings.get('load_average_before')} / "
        f"{settings.get('load_average_after')}.",
        "",
    ]
    for size, measured in figures.get("sizes", {}).items():
        rows = measured["rows"]
        embedded = rows[0]["p50_ms"] or 1.0
        lines += [
            f"### {int(size):,} passages",
            "",
            "| index | p50 ms | p95 ms | p50 vs embedded | recall@10 | build s |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            lines.append(
                f"| {row['index']} | {row['p50_ms']} | {row['p95_ms']} | {row['p50_ms'] / embedded:.1f}x | "
                f"{row['recall_at_10']} | {row.get('build_s', '')} |"
            )
        memory = ", ".join(f"{name} {gb} GB" for name, gb in measured["memory_gb_per_million"].items())
        disk = measured["milvus_lite_disk_gb_per_million"]
        lines += [
            "",
            f"Memory per million passages (growth of each process's resident memory): {memory}"
            + (f"; milvus-lite's folder on disk {disk} GB per million." if disk is not None else ".")
            + ("" if len(rows) > 1 else " milvus-lite was not run at this size (too slow to load)."),
            "",
        ]
    estimate = figures.get("estimate_1e8")
    if estimate:
        lines += [
            f"### Paper estimate: {int(estimate['passages']):,} passages on a Milvus cluster",
            "",
            "| index | memory per in-memory replica | 64 GB query nodes per replica (70% usable) |",
            "| --- | --- | --- |",
        ]
        for name, layout in estimate["layouts"].items():
            lines.append(
                f"| {name} | {layout['memory_gb_per_replica']} GB | {layout['query_nodes_64gb_per_replica']} |"
            )
        per = estimate["bytes_per_passage"]
        lines += [
            "",
            f"Bytes per passage: vector {per['vector']}, HNSW links {per['hnsw_links']}, BM25 postings "
            f"{per['sparse']}; the scalar fields (text, tokens, metadata, {per['scalar_fields']} B) take about "
            f"{estimate['scalar_fields_gb_on_disk']} GB on object storage. Shards: {estimate['shards']}. "
            f"Replicas: {estimate['replicas']}.",
            "",
        ]
    return "\n".join(lines)
