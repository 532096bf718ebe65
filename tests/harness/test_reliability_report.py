"""The reliability table: one row per result file, failing when a check failed or left no result."""

from __future__ import annotations

import json
from pathlib import Path

from harness.reliability_report import collect_report


def write(directory: Path, name: str, record: object) -> None:
    (directory / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")


def test_every_check_gets_a_row_with_the_commit_it_ran_at(tmp_path: Path) -> None:
    write(
        tmp_path,
        "crasher",
        {"check": "crash kills", "figure": "10/10", "passed": True, "details": {"commit": "abc1234"}},
    )
    write(tmp_path, "soak", {"check": "soak", "figure": "flat | steady", "passed": True, "details": {}})
    text, passed = collect_report(tmp_path, expect=["crasher", "soak"])
    assert passed
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| check | figure | result | commit |"
    assert "| crash kills | 10/10 | pass | abc1234 |" in rows
    assert "| soak | flat \\| steady | pass | ? |" in rows  # a pipe in a figure cannot break the table


def test_a_failed_missing_or_unreadable_check_fails_the_report(tmp_path: Path) -> None:
    write(tmp_path, "flood", {"check": "flood", "figure": "2 got 5xx", "passed": False})
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    text, passed = collect_report(tmp_path, expect=["flood", "load"])
    assert not passed
    assert "| flood | 2 got 5xx | **fail** |" in text
    assert "| broken.json | unreadable result file | **fail** |" in text
    assert "| load | no result: the script failed or did not run | **fail** |" in text
