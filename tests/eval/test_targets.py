"""`footnote eval targets`: runs held to the targets file, with the previous figures beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.targets import TARGETS, load_targets
from service.cli import main


def _run(folder: Path, *, dataset: str, mode: str, **summary: float) -> Path:
    folder.mkdir(parents=True)
    config = {
        "dataset": {"name": dataset},
        "answer_mode": mode,
        "model": "extractive" if mode == "extractive" else "footnote/qwen2.5-coder-1.5b",
        "commit": "abc1234",
    }
    run: dict[str, Any] = {"summary": {"questions": 57, **summary}, "config": config}
    (folder / "summary.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


def test_each_run_is_held_to_its_sets_and_paths_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    embedded = _run(
        tmp_path / "bundled-embedded",
        dataset="bundled",
        mode="generate",
        decision_accuracy=0.93,
        fact_recall_all_answerable=0.80,
        citation_document_precision=0.95,
        quote_fidelity=1.0,
        latency_p50_ms=9000.0,
    )
    extractive = _run(tmp_path / "bundled-extractive", dataset="bundled", mode="extractive", latency_p50_ms=1200.0)
    out = tmp_path / "targets.md"
    assert main(["eval", "targets", str(embedded), str(extractive), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == table
    bundled = table.split("## squad2_report")[0]
    rows = {line.split(" | ")[0].strip("| "): line for line in bundled.splitlines() if line.startswith("| ")}
    assert "93.0% (met)" in rows["right decision to answer or refuse"]
    assert "80.0% (missed by 5.0 pts)" in rows["expected facts over all answerable questions"]
    assert "95.0% (met)" in rows["citations pointing into a gold document"]
    latency = [line for line in bundled.splitlines() if line.startswith("| latency p50")]
    # The whole-answer bound of the written path applies to the embedded run only, the extractive one's to the other.
    assert latency[0].endswith("| 9,000 ms (missed by 1,000 ms) | - |")
    assert latency[1].endswith("| - | 1,200 ms (met) |")
    # Previous figures sit beside the targets, each only under the path it measured.
    assert "| 35.3% | 70.8% |" in rows["expected facts over all answerable questions"]
    assert "| ≤ 8,000 ms (generate) | 5,950 ms | - |" in latency[0]
    # A set no run measured is listed as not measured rather than left out.
    assert "## squad2_report" in table
    assert "no run of this set was given" in table


def test_a_missing_figure_is_not_measured_not_met(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path / "squad", dataset="squad2_report", mode="generate", decision_accuracy=0.61)
    assert main(["eval", "targets", str(run)]) == 0
    table = capsys.readouterr().out
    assert "61.0% (missed by 19.0 pts)" in table
    assert "n/a (not measured)" in table


def test_bad_targets_and_runs_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path / "run", dataset="bundled", mode="generate")
    bogus = tmp_path / "targets.json"
    bogus.write_text(json.dumps({"targets": {"bundled": [{"metric": "speed", "at_least": 1}]}}), encoding="utf-8")
    assert main(["eval", "targets", str(run), "--targets", str(bogus)]) == 1
    assert "unknown metrics speed" in capsys.readouterr().err
    bogus.write_text("{", encoding="utf-8")
    assert main(["eval", "targets", str(run), "--targets", str(bogus)]) == 1
    assert "not a readable targets file" in capsys.readouterr().err
    assert main(["eval", "targets", str(tmp_path / "nowhere")]) == 1
    assert "no summary.json" in capsys.readouterr().err


def test_the_bundled_targets_file_holds_the_issues_targets() -> None:
    targets, previous = load_targets(TARGETS)
    bounds = {(t.dataset, t.metric, t.answer_mode): t.bound for t in targets}
    assert bounds[("bundled", "decision_accuracy", None)] == 0.9
    assert bounds[("squad2_report", "decision_accuracy", None)] == 0.8
    assert bounds[("bundled", "latency_p50_ms", "extractive")] == 1500
    assert {p["answer_mode"] for p in previous} == {"generate", "extractive"}
