"""Corruption detection: damage a store's file in many ways (harness/corruption.py) and check that nothing
damaged is ever served and that every detected case is repaired; writes the reliability record.

    python -m bench.corruption --json bench/out/reliability/corruption.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.reliability_record import write_record
from harness.corruption import run_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flips", type=int, default=80, help="random single-bit flips")
    parser.add_argument("--runs", type=int, default=30, help="random 16-byte garbage runs")
    parser.add_argument("--truncations", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write the reliability record here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="footnote-corruption-") as scratch:
        result = run_cases(
            Path(scratch), flips=args.flips, runs=args.runs, truncations=args.truncations, seed=args.seed
        )
    damaging = result.cases - result.harmless
    passed = result.served == 0 and result.crashed == 0 and result.repair_failed == 0
    figure = (
        f"{result.detected}/{damaging} damaging corruptions detected, {result.served} served "
        f"({result.harmless} more left everything served unchanged); "
        f"{result.repaired}/{result.detected} repaired by rebuild"
    )
    write_record(
        check="corruption",
        figure=figure,
        passed=passed,
        details={
            **result.__dict__,
            "seconds": round(time.monotonic() - started, 1),
        },
        path=args.json,
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
