"""`kill -9` during ingest, replace and delete never leaves a torn store (the quick version of bench/crasher.py)."""

from __future__ import annotations

from pathlib import Path

from harness.crasher import run_kills


def test_ten_kills_leave_every_acknowledged_change_whole_and_searchable(tmp_path: Path) -> None:
    stats = run_kills(tmp_path / "crash", kills=10, seed=11, max_seconds=240)
    assert stats.failures == []
    assert stats.survived == stats.kills == 10
    assert stats.acknowledged_changes > 0, "the children were killed before changing anything"
    assert stats.final_passages > 0
