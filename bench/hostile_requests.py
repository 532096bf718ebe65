"""Hostile requests at the HTTP API (OWASP LLM05, LLM10): harness/hostile_requests.py's probes, written as raw
bytes to a real `footnote serve` on loopback (started here, extractive, small upload limit). Every one must get a
4xx, never a 5xx or a 2xx; writes the reliability record.

    python -m bench.hostile_requests --json bench/out/reliability/hostile_requests.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.reliability_record import write_record
from harness.hostile_requests import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, ProbeResult, run_probes
from harness.server import footnote_server


def summarise(results: Sequence[ProbeResult]) -> dict[str, dict[str, int]]:
    """Per category: how many probes got a 4xx, a 5xx, something else, and the JSON error shape."""
    table: dict[str, dict[str, int]] = {}
    for result in results:
        row = table.setdefault(result.category, {"probes": 0, "4xx": 0, "5xx": 0, "other": 0, "json_shape": 0})
        row["probes"] += 1
        status = result.status or 0
        row["4xx" if 400 <= status < 500 else "5xx" if status >= 500 else "other"] += 1
        row["json_shape"] += int(result.json_shape)
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the result object here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="footnote-hostile-") as tmp:
        env = {
            "FOOTNOTE_ANSWER_MODE": "extractive",
            "FOOTNOTE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "FOOTNOTE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
            "FOOTNOTE_RATE_LIMIT_PER_ADDRESS": "100000",
            "FOOTNOTE_RATE_LIMIT_PER_MINUTE": "100000",
        }
        with footnote_server(Path(tmp) / "home", env) as server:
            host, port = server.url.removeprefix("http://").split(":")
            results = run_probes(host, int(port))
            log_tail = server.log.read_text(errors="replace")[-2000:]
    failures = [r for r in results if not r.passed]
    fives = sum(1 for r in results if (r.status or 0) >= 500)
    for result in failures:
        print(f"FAILED {result.category}/{result.name}: {result.status} {result.note}", file=sys.stderr)
    write_record(
        check="hostile requests",
        figure=f"{len(results) - len(failures)}/{len(results)} answered 4xx as documented; {fives} 5xx",
        passed=not failures,
        details={
            "by_category": summarise(results),
            "failures": [r.__dict__ for r in failures],
            "server_log_tail": log_tail if failures else "",
            "seconds": round(time.monotonic() - started, 1),
        },
        path=args.json,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
