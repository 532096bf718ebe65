"""The one JSON object every reliability script writes (see the README's Reliability section):
{"check", "figure", "passed", "details"}, printed and, with --json PATH, saved for bench.reliability_report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.provenance import commit, machine


def write_record(*, check: str, figure: str, passed: bool, details: dict[str, Any], path: Path | None) -> None:
    """Print the record and save it to `path` (directories are made); the commit and machine go in details."""
    record = {
        "check": check,
        "figure": figure,
        "passed": passed,
        "details": {**details, "commit": commit(), "machine": machine()},
    }
    text = json.dumps(record, indent=2, ensure_ascii=False)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    print(text)
