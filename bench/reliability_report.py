"""Collect every reliability result (bench/out/reliability/*.json) into one markdown table, bench/RELIABILITY.md,
with the machine, the commit and the date, and print it. `make reliability` runs the checks and then this.

With --expect, a check that left no result (its script crashed or was not run) gets a failing row instead of
silently disappearing. Exits 1 when any row failed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.common import PROJECT_ROOT
from harness.reliability_report import collect_report

RESULTS = PROJECT_ROOT / "bench" / "out" / "reliability"
REPORT = PROJECT_ROOT / "bench" / "RELIABILITY.md"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory of result JSON files")
    parser.add_argument("--out", type=Path, default=REPORT, help="where the markdown goes")
    parser.add_argument("--expect", default="", help="comma-separated result names (file stems) that must exist")
    parser.add_argument("--quick", action="store_true", help="say in the heading that this was a quick run")
    args = parser.parse_args(argv)
    expect = [name for name in (n.strip() for n in args.expect.split(",")) if name]
    text, passed = collect_report(args.results, expect=expect, quick=args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
