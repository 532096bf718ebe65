"""Concurrency: questions answered correctly while documents are added and deleted through the API
(harness/concurrency.py), against a real `footnote serve` (the real embedding model, extractive answers) on a
loopback port; writes the reliability record.

    python -m bench.concurrency --seconds 20 --json bench/out/reliability/concurrency.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

from bench.reliability_record import write_record
from harness.concurrency import run_workload
from harness.server import footnote_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--askers", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None, help="write the reliability record here")
    args = parser.parse_args(argv)
    environment = {
        "FOOTNOTE_ANSWER_MODE": "extractive",
        "FOOTNOTE_RATE_LIMIT_PER_MINUTE": "1000000",
        "FOOTNOTE_RATE_LIMIT_PER_ADDRESS": "1000000",
    }
    with tempfile.TemporaryDirectory(prefix="footnote-concurrency-") as scratch:
        home = Path(scratch) / "home"
        with footnote_server(home, environment) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            result = run_workload(client, seconds=args.seconds, askers=args.askers)
    figure = (
        f"{result.citations_checked + result.search_hits_checked} citations and hits checked during "
        f"{result.added} adds and {result.deleted} deletes: {result.wrong_citations} wrong, "
        f"{result.server_errors} 5xx"
    )
    write_record(
        check="concurrency",
        figure=figure,
        passed=result.passed,
        details={
            **result.__dict__,
            "askers": args.askers,
            "answer_mode": "extractive",
        },
        path=args.json,
    )
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
