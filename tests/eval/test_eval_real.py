"""The evaluation with the real parts: a real `footnote serve` (real embedding model, extractive answers) asked
over HTTP by `footnote eval citations --base-url`, judged by the real offline support scorer.

The in-process path with the embedded model runs in `make eval-gate`, which `make test` includes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.server import footnote_server
from service.cli import main

pytestmark = pytest.mark.slow

DATASET = Path(__file__).resolve().parents[2] / "eval" / "datasets" / "bundled.jsonl"
KEY = "eval-admin-key"


def test_a_remote_run_over_real_http(tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = DATASET.read_text(encoding="utf-8").splitlines()
    chosen = [line for line in lines if json.loads(line)["id"] in {"q02", "q29", "q35", "q46"}]
    dataset = tmp_path / "small.jsonl"
    dataset.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    # The heuristic picks the quotes: this test is about the remote run, and the model judge has its own tests.
    env = {"FOOTNOTE_ADMIN_KEY": KEY, "FOOTNOTE_ANSWER_MODE": "extractive", "FOOTNOTE_JUDGE_MODEL": "heuristic"}
    out = tmp_path / "run"
    with footnote_server(tmp_path / "server-home", env) as server:
        code = main(["eval", "citations", str(dataset), "--base-url", server.url, "--key", KEY, "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        capsys.readouterr()
        # Without the key the server refuses, and the evaluation says so instead of scoring nothing.
        assert main(["eval", "citations", str(dataset), "--base-url", server.url, "--out", str(out / "x")]) == 1
        assert "HTTP 401" in capsys.readouterr().err
    run = json.loads((out / "summary.json").read_text())
    summary, config = run["summary"], run["config"]
    assert config["source"] == f"remote {server.url}" and config["answer_mode"] == "extractive"
    assert config["judge"]["kind"] == "offline"
    assert summary["questions"] == 4 and summary["quote_fidelity"] == 1.0
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in results}
    # The off-topic question (the 2022 World Cup) is refused; the drills question is answered from its article.
    assert by_id["q46"]["abstained"] and not by_id["q02"]["abstained"]
    assert "russia-afghan-security-2021" in by_id["q02"]["retrieved_documents"]
    assert by_id["q02"]["citations"] == by_id["q02"]["citations_exact"] > 0
