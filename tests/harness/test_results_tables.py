"""The RESULTS.md tables: ratios, goal verdicts and missing figures, from hand-made results."""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness import results_tables as tables
from harness.results_markdown import render, updated


def _results() -> dict[str, Any]:
    return {
        "commit": "abc1234",
        "machine": "Test CPU, 2 cores, Python 3.11",
        "load_average": {"ingest": [5.0, 4.0, 3.0]},
        "durations_s": {"ingest": 10.0},
        "ingest": {
            "source": "first 10 SciFact abstracts",
            "documents": 10,
            "passages": 25,
            "encoder_passages_per_s": 20.0,
            "encoder_documents_per_s": 8.0,
            "footnote_passages_per_s": 19.0,
            "footnote_documents_per_s": 7.6,
            "peer_passages_per_s": 12.0,
            "peer_documents_per_s": 4.0,
            "backends": {"torch": {"encoder_passages_per_s": 20.0}, "onnx-int8": {"footnote_passages_per_s": 30.0}},
        },
        "search": {
            "100000": {
                "raw_faiss_p50_ms": 10.0,
                "raw_faiss_p95_ms": 12.0,
                "dense_p50_ms": 11.0,
                "dense_p95_ms": 13.0,
                "hybrid_p50_ms": 30.0,
                "hybrid_p95_ms": 35.0,
                "peer_p50_ms": 50.0,
                "peer_p95_ms": 60.0,
            },
            "settings": {"k": 6},
        },
        "quality": {
            "systems": {"footnote_hybrid": {"ndcg_at_10": 0.742, "recall_at_100": 0.95, "mrr_at_10": 0.7}},
            "published": [["BM25 (BEIR paper, Elasticsearch)", 0.665], ["BM25 + cross-encoder rerank", 0.688]],
        },
        "backends": {"torch": {"encoder_passages_per_s": 20.0}, "onnx-int8": {"encoder_passages_per_s": 32.0}},
        "ask": {"ttft_p50_ms": 6900, "ask_total_p50_ms": 9800, "extractive_total_p50_ms": 260},
    }


def test_ratio_and_speedup_read_the_right_way_round() -> None:
    assert tables.ratio(19.0, 20.0) == "0.95x"
    assert tables.speedup(25.0, 50.0) == "2.00x"  # half the time: twice as fast
    assert tables.ratio(None, 20.0) == tables.speedup(10.0, None) == tables.ratio(1.0, 0.0) == "—"
    assert tables.number(12345.678, 1) == "12,345.7" and tables.number(None) == "—"


def test_markdown_table_rejects_ragged_rows() -> None:
    assert tables.markdown_table(["a", "b"], [["1", "2"]]).splitlines() == ["| a | b |", "| --- | --- |", "| 1 | 2 |"]
    with pytest.raises(ValueError, match="2 cells"):
        tables.markdown_table(["a"], [["1", "2"]])


def test_goals_follow_the_figures() -> None:
    results = _results()
    assert tables.ingest_goals(results) == (True, True)  # 0.95 of the encoder, 1.9x the peer
    assert tables.search_goal(results, "dense") is True  # 50 / 11 ms
    assert tables.search_goal(results, "hybrid") is False  # 50 / 30 ms = 1.67x < 2x
    assert tables.quality_goal(results) is True
    results["quality"]["published"].append(["a better system", 0.75])
    assert tables.quality_goal(results) is False
    results["ingest"]["footnote_passages_per_s"] = 17.0  # 0.85 of the encoder
    assert tables.ingest_goals(results)[0] is False


def test_missing_figures_say_not_measured_instead_of_failing() -> None:
    assert tables.ingest_goals({}) == (None, None)
    assert tables.search_goal({"search": {}}) is None
    assert tables.quality_goal({}) is None
    headline = tables.headline_table({})
    assert "not measured" in headline and "—" in headline


def test_headline_shows_ratios_and_verdicts() -> None:
    headline = tables.headline_table(_results())
    assert "0.95x" in headline  # ingest vs the raw encoder
    assert "1.90x (docs/s)" in headline  # ingest vs LlamaIndex
    assert "1.67x faster" in headline and "**not met**" in headline  # hybrid vs the peer at 1e5
    assert "4.55x faster" in headline  # dense vs the peer
    assert "BM25 + cross-encoder rerank 0.688" in headline


def test_search_table_lists_every_retriever_measured() -> None:
    table = tables.search_table(_results())
    assert "| 100,000 | Footnote hybrid (default) | 30.00 / 35.00 | 3.00x | 1.67x |" in table
    assert "lexical" not in table  # not measured in these results, so no row


def test_backends_table_compares_with_torch() -> None:
    table = tables.backends_table(_results())
    assert "| onnx-int8 | 32.0 | 1.60x |" in table


def test_render_names_machine_commit_and_a_busy_machine() -> None:
    text = render(_results())
    assert "`abc1234`" in text and "Test CPU" in text
    assert "shared and busy" in text
    assert "## Headline" in text and "## Retrieval quality (SciFact)" in text


def test_the_search_section_names_the_dense_index_the_run_used() -> None:
    assert "flat (exact) indexes" in render(_results())
    settings = {"k": 6, "exact_search_up_to": 50000}
    results = {**_results(), "search": {**_results()["search"], "settings": settings}}
    assert "exact (a scan) up to 50,000 passages and above that an inverted file visiting half" in render(results)
    quarter = {**results, "search": {**results["search"], "settings": {**settings, "ivf_probed_share": 0.25}}}
    assert "an inverted file visiting 25% of its cells" in render(quarter)


def test_a_load_of_the_benchmark_alone_is_not_called_busy() -> None:
    cores = os.cpu_count() or 1
    quiet = {**_results(), "load_average": {"ingest": [0.5, 0.4, 0.3], "search": [cores + 0.5, 1.0, 0.5]}}
    assert "shared and busy" not in render(quiet)


def test_a_part_measured_again_replaces_only_itself_and_says_when() -> None:
    earlier = {**_results(), "durations_s": {"ingest": 10.0, "ask": 50.0}, "ask": {"ttft_p50_ms": 9000}}
    fresh = {
        "commit": "def5678",
        "started": "2026-12-07 19:00 UTC",
        "load_average": {"ask": [0.5, 0.5, 0.5]},
        "durations_s": {"ask": 40.0},
        "ask": {"ttft_p50_ms": 5000},
    }
    results = updated(earlier, fresh)
    assert results["ask"] == {"ttft_p50_ms": 5000} and results["ingest"] == earlier["ingest"]
    assert results["durations_s"] == {"ingest": 10.0, "ask": 40.0} and results["commit"] == "abc1234"
    assert earlier["durations_s"]["ask"] == 50.0
    assert "ask at `def5678`, 2026-12-07 19:00 UTC" in render(results)
    assert "Measured again later" not in render(earlier)


def test_the_ask_table_shows_the_first_verified_sentence_and_the_targets() -> None:
    results = {
        **_results(),
        "ask": {
            "ttft_p50_ms": 6100,
            "first_verified_p50_ms": 9650,
            "ask_total_p50_ms": 9650,
            "ask_total_p95_ms": 14700,
        },
    }
    table = tables.ask_table(results)
    assert "| embedded model: first verified sentence | 9.65 | ≤ 4 |" in table
    assert "9.65 (p95 14.70) | ≤ 8 |" in table
    # A figure the run did not record shows as a dash, not as zero.
    assert "| extractive path: whole ask | — | ≤ 1.5 |" in table
