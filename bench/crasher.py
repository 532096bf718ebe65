"""Crash safety of the store: `kill -9` a writer at random moments (harness/crasher.py), a hundred times on a
tiny embedder and a few times on the real model, and write the reliability record.

    python -m bench.crasher --kills 100 --json bench/out/reliability/crash.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.reliability_record import write_record
from harness.crasher import CrashStats, run_kills
from index import DEFAULT_EMBEDDING_MODEL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--real-model-kills", type=int, default=3, help="extra kills of a child on the real model")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop killing after this long (in all)")
    parser.add_argument("--json", type=Path, default=None, help="write the reliability record here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="footnote-crasher-") as scratch:
        fake = run_kills(Path(scratch) / "fake", kills=args.kills, seed=args.seed, max_seconds=args.max_seconds)
        real = CrashStats()
        if args.real_model_kills:
            real = run_kills(
                Path(scratch) / "real",
                kills=args.real_model_kills,
                seed=args.seed + 1,
                real_model=True,
                max_seconds=max(60.0, args.max_seconds - (time.monotonic() - started)),
            )
    passed = (
        not fake.failures
        and not real.failures
        and fake.survived == args.kills
        and real.survived == args.real_model_kills
    )
    figure = f"{fake.survived}/{args.kills} kills survived"
    if args.real_model_kills:
        figure += f" (+{real.survived}/{args.real_model_kills} with {DEFAULT_EMBEDDING_MODEL})"
    write_record(
        check="crash kills",
        figure=figure,
        passed=passed,
        details={
            "tiny_embedder": fake.__dict__,
            "real_model": real.__dict__,
            "seconds": round(time.monotonic() - started, 1),
        },
        path=args.json,
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
