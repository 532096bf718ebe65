"""Collect every reliability result (bench/out/reliability/*.json) into one markdown table, bench/RELIABILITY.md,
with the machine, the commit and the date, and print it. `make reliability` runs the checks and then this.

Each result is {"check", "figure", "passed", "details"}; with --expect, a check that left no result (its script
crashed or was not run) gets a failing row instead of silently disappearing. Exits 1 when any row failed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from collections.abc import Sequence
from pathlib import Path

from bench.common import PROJECT_ROOT, commit, machine

RESULTS = PROJECT_ROOT / "bench" / "out" / "reliability"
REPORT = PROJECT_ROOT / "bench" / "RELIABILITY.md"


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory of result JSON files")
    parser.add_argument("--out", type=Path, default=REPORT, help="where the markdown goes")
    parser.add_argument("--expect", default="", help="comma-separated result names (file stems) that must exist")
    parser.add_argument("--quick", action="store_true", help="say in the heading that this was a quick run")
    args = parser.parse_args(argv)
    results, broken = load_results(args.results)
    found = {str(record["file"]) for record in results} | {Path(name).stem for name in broken}
    missing = [name for name in (n.strip() for n in args.expect.split(",")) if name and name not in found]
    text = render_report(results, broken=broken, missing=missing, quick=args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    failed = broken or missing or any(record.get("passed") is not True for record in results)
    return 1 if failed or not results else 0


if __name__ == "__main__":
    raise SystemExit(main())
