"""The distributed-embedding section of bench/RESULTS.md, from bench/ray_embedding.py's figures: pure formatting."""

from __future__ import annotations

from typing import Any

TARGET = 1.6


def ray_section(figures: dict[str, Any] | None) -> str:
    """The section's markdown; says so when the part was not measured."""
    lines = ["## Distributed embedding (Ray)", ""]
    if not figures:
        return "\n".join([*lines, "**Not measured in this run.**", ""])
    one, two = figures["ray_1_actor"], figures["ray_2_actors"]
    ratios = figures["ratios"]
    met = "met" if ratios["ray_2_actors_vs_1_without_startup"] >= TARGET else "**not met**"
    lines += [
        f"{figures['texts']} texts of {figures['words_per_text']} words from the bundled articles, "
        f"{figures['model']}, batches of {figures['batch_size']}. Ray: a local two-node cluster (head and worker as "
        "separate processes on 127.0.0.2 and 127.0.0.3, 1 CPU each, token auth), `map_batches` over an actor pool "
        "as `footnote ingest --ray` embeds. Without start-up: from the moment the last actor had its model loaded. "
        "Load average (1 min) before / after each run.",
        "",
        "| run | seconds | texts/s | vs one process, 1 thread | load before / after |",
        "| --- | --- | --- | --- | --- |",
    ]
    single = figures["one_process_1_thread"]["seconds"]
    nodes = ", ".join(f"{node} {count}" for node, count in sorted(two["texts_by_node"].items()))
    rows = [
        ("one process, 1 torch thread", figures["one_process_1_thread"]["seconds"], figures["one_process_1_thread"]),
        ("one process, 2 torch threads", figures["one_process_2_threads"]["seconds"], figures["one_process_2_threads"]),
        ("Ray, 1 actor, with start-up", one["seconds_with_startup"], one),
        ("Ray, 1 actor, without start-up", one["seconds_without_startup"], one),
        ("Ray, 2 actors on 2 nodes, with start-up", two["seconds_with_startup"], two),
        ("Ray, 2 actors on 2 nodes, without start-up", two["seconds_without_startup"], two),
    ]
    for name, seconds, run in rows:
        load = " / ".join(str(value) for value in run["load"])
        lines.append(f"| {name} | {seconds} | {figures['texts'] / seconds:.1f} | {single / seconds:.2f}x | {load} |")
    lines += [
        "",
        f"2 actors vs 1: {ratios['ray_2_actors_vs_1_without_startup']}x without start-up, "
        f"{ratios['ray_2_actors_vs_1_with_startup']}x with it (target {TARGET}x on a quiet machine: {met}); "
        f"2 torch threads vs 1 in one process: {ratios['one_process_2_threads_vs_1']}x. "
        f"Actor start: {', '.join(str(v) for v in two['actor_start_cpu_s'])} CPU-seconds, "
        f"{', '.join(str(v) for v in two['actor_rss_mb'])} MB resident each; idle cluster "
        f"{figures['idle_cluster_rss_mb']} MB resident; texts per node with 2 actors: {nodes}. "
        f"Largest difference of a Ray vector from one process's: {two['max_abs_difference_to_one_process']:.1e}.",
        "",
    ]
    return "\n".join(lines)
