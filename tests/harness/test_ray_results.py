"""The Ray section of bench/RESULTS.md: ratios against the target, and a plain note when the part did not run."""

from __future__ import annotations

from typing import Any

from harness.ray_results import ray_section


def _figures(two_actor_seconds: float) -> dict[str, Any]:
    one = {
        "seconds_with_startup": 60.0,
        "seconds_without_startup": 50.0,
        "load": [0.5, 1.1],
        "actor_start_cpu_s": [8.1],
        "actor_rss_mb": [480],
        "texts_by_node": {"127.0.0.2": 4000},
        "max_abs_difference_to_one_process": 2e-7,
    }
    two = {
        **one,
        "seconds_with_startup": two_actor_seconds + 10,
        "seconds_without_startup": two_actor_seconds,
        "actor_start_cpu_s": [8.0, 8.3],
        "actor_rss_mb": [470, 490],
        "texts_by_node": {"127.0.0.2": 2000, "127.0.0.3": 2000},
    }
    return {
        "texts": 4000,
        "words_per_text": 50,
        "batch_size": 64,
        "model": "all-MiniLM-L6-v2",
        "idle_cluster_rss_mb": 1500,
        "one_process_1_thread": {"seconds": 50.0, "load": [0.4, 1.0]},
        "one_process_2_threads": {"seconds": 40.0, "load": [1.0, 1.9]},
        "ray_1_actor": one,
        "ray_2_actors": two,
        "ratios": {
            "one_process_2_threads_vs_1": 1.25,
            "ray_2_actors_vs_1_without_startup": round(50.0 / two_actor_seconds, 2),
            "ray_2_actors_vs_1_with_startup": round(60.0 / (two_actor_seconds + 10), 2),
        },
    }


def test_the_target_is_met_or_not_by_the_ratio_without_startup() -> None:
    met = ray_section(_figures(25.0))
    assert "2 actors vs 1: 2.0x without start-up" in met and "target 1.6x on a quiet machine: met)" in met
    assert "| Ray, 2 actors on 2 nodes, without start-up | 25.0 | 160.0 | 2.00x | 0.5 / 1.1 |" in met
    assert "idle cluster 1500 MB" in met
    assert "**not met**" in ray_section(_figures(40.0))


def test_an_unmeasured_part_says_so() -> None:
    assert "**Not measured in this run.**" in ray_section(None)
