"""Every reliability result (bench/out/reliability/*.json) in one markdown table, with the machine, the commit
and the date: what bench/reliability_report.py writes to bench/RELIABILITY.md.

Each result is {"check", "figure", "passed", "details"}; a check expected but without a result (its script
crashed or was not run) gets a failing row instead of silently disappearing.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Sequence
from pathlib import Path

from harness.provenance import commit, machine


def memory_gib() -> str:
    """Total RAM, from /proc/meminfo where there is one."""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return "unknown RAM"


def load_results(directory: Path) -> tuple[list[dict[str, object]], list[str]]:
    """The result objects found (sorted by file name) and the files that were not valid results."""
    results: list[dict[str, object]] = []
    broken: list[str] = []
    for path in sorted(directory.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            broken.append(path.name)
            continue
        if not isinstance(record, dict) or not {"check", "figure", "passed"} <= record.keys():
            broken.append(path.name)
            continue
        results.append({**record, "file": path.stem})
    return results, broken


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_report(
    results: Sequence[dict[str, object]], *, broken: Sequence[str], missing: Sequence[str], quick: bool
) -> str:
    """The markdown: a header naming machine, commit and date, then one row per check."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability" + (" (quick run)" if quick else ""),
        "",
        f"Machine: {machine()}, {memory_gib()} (load average when this report was written: {_load()}).  ",
        f"Report written at commit {commit()} on {now}; each row names the commit its check ran at.  ",
        "Made by `make reliability" + (" QUICK=1" if quick else "") + "` (`python -m bench.reliability_report`).",
        "",
        "| check | figure | result | commit |",
        "| --- | --- | --- | --- |",
    ]
    for record in results:
        verdict = "pass" if record.get("passed") is True else "**fail**"
        details = record.get("details")
        ran_at = details.get("commit", "?") if isinstance(details, dict) else "?"
        lines.append(f"| {_cell(record['check'])} | {_cell(record['figure'])} | {verdict} | {_cell(ran_at)} |")
    for name in broken:
        lines.append(f"| {_cell(name)} | unreadable result file | **fail** | |")
    for name in missing:
        lines.append(f"| {_cell(name)} | no result: the script failed or did not run | **fail** | |")
    return "\n".join(lines) + "\n"


def _load() -> str:
    try:
        return ", ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def collect_report(directory: Path, *, expect: Sequence[str] = (), quick: bool = False) -> tuple[str, bool]:
    """The report on every result in `directory`, and whether every check passed (and all of `expect` ran)."""
    results, broken = load_results(directory)
    found = {str(record["file"]) for record in results} | {Path(name).stem for name in broken}
    missing = [name for name in expect if name not in found]
    text = render_report(results, broken=broken, missing=missing, quick=quick)
    failed = broken or missing or any(record.get("passed") is not True for record in results)
    return text, not failed and bool(results)
