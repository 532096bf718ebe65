"""HTTP load on a real `footnote serve`: requests/s and p50/p95/p99 of /v1/search and /v1/ask (extractive and
embedded model) with 1, 10 and 50 concurrent clients, then a search flood at the default limits.

The server runs in a subprocess on loopback with a fresh data directory holding the bundled articles; the
clients run here (bench/load_client.py). Throughput runs raise the rate limits and the generation queue so
that they measure the service, not the limiter; the final `limits` run keeps the defaults and checks that what
goes beyond them gets 429, never a 5xx.

    python -m bench.load                       # everything, 20 s per run
    python -m bench.load --seconds 60 --json bench/out/reliability/load.json
    python -m bench.load --targets search --clients 1 10
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import report
from bench.load_client import RequestSpec, run_load
from bench.reliability_record import write_record
from harness.provenance import commit, machine
from harness.server import footnote_server

QUESTIONS = (
    "why is Russia expanding its role?",
    "What does Russia want from the Taliban?",
    "Which countries border Afghanistan to the north?",
    "How did Russia react to the US withdrawal?",
    "What security threats worry Moscow?",
)

# Far above what the load reaches, so throughput runs measure the service rather than the rate limiter.
UNLIMITED = {
    "FOOTNOTE_RATE_LIMIT_PER_MINUTE": "100000000",
    "FOOTNOTE_RATE_LIMIT_PER_ADDRESS": "100000000",
    "FOOTNOTE_MAX_QUEUED_GENERATIONS": "100",
    "FOOTNOTE_QUEUE_TIMEOUT_S": "600",
    # Every client here shares the loopback address, which by default may have one answer generating at once.
    "FOOTNOTE_MAX_GENERATIONS_PER_ADDRESS": "1000",
    # 50 clients wait their turn for two generation slots: a queued answer must not time out while it waits.
    "FOOTNOTE_LLM_TIMEOUT_S": "600",
}


@dataclass(frozen=True)
class Target:
    """A route under load and the answer mode the server runs in."""

    name: str
    answer_mode: str

    def requests(self) -> Iterator[RequestSpec]:
        """An endless stream of requests, cycling through the questions."""
        for question in itertools.cycle(QUESTIONS):
            if self.name == "search":
                yield RequestSpec("GET", "/v1/search", params={"q": question, "k": "6"})
            else:
                yield RequestSpec("POST", "/v1/ask", json={"question": question})


TARGETS = {
    "search": Target("search", "extractive"),
    "ask-extractive": Target("ask", "extractive"),
    "ask-embedded": Target("ask", "generate"),
}


def run_target(target: Target, *, clients: list[int], seconds: float, max_requests: int) -> list[dict[str, object]]:
    """One server in the target's answer mode, and one run per client count against it."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="footnote-load-") as scratch:
        env = {"FOOTNOTE_ANSWER_MODE": target.answer_mode, **UNLIMITED}
        with footnote_server(Path(scratch) / "home", env) as server:
            # One request first, so the first run does not time the lazy start-up of the model.
            asyncio.run(run_load(server.url, target.requests, clients=1, seconds=30, max_requests=1))
            for count in clients:
                result = asyncio.run(
                    run_load(server.url, target.requests, clients=count, seconds=seconds, max_requests=max_requests)
                )
                rows.append(result.summary())
                print(json.dumps({"target": target.name, "mode": target.answer_mode, **result.summary()}))
    return rows


def run_limits(*, seconds: float, max_requests: int) -> dict[str, object]:
    """50 clients flooding /v1/search at the default limits: beyond them, 429, never a 5xx."""
    with tempfile.TemporaryDirectory(prefix="footnote-load-") as scratch:
        env = {"FOOTNOTE_ANSWER_MODE": "extractive"}
        with footnote_server(Path(scratch) / "home", env) as server:
            flood = TARGETS["search"].requests
            result = asyncio.run(run_load(server.url, flood, clients=50, seconds=seconds, max_requests=max_requests))
    summary = result.summary()
    print(json.dumps({"target": "limits", **summary}))
    return summary


def markdown_table(results: dict[str, list[dict[str, object]]]) -> str:
    """The README's table: one row per target and client count."""
    lines = [
        "| target | clients | answered/s | p50 ms | p95 ms | p99 ms | requests | 429 | 503 | other 5xx | unfinished |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rows in results.items():
        for row in rows:
            outcomes = row["outcomes"]
            assert isinstance(outcomes, dict)
            lines.append(
                f"| {name} | {row['clients']} | {row['answered_per_s']} | {row['p50_ms']} | {row['p95_ms']} | "
                f"{row['p99_ms']} | {row['requests']} | {outcomes.get('rate_limited', 0)} | "
                f"{outcomes.get('busy', 0)} | {row['server_errors']} | {row['unfinished']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", nargs="+", choices=sorted(TARGETS), default=list(TARGETS))
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of each run.")
    parser.add_argument("--max-requests", type=int, default=20_000, help="Request budget of each run.")
    parser.add_argument("--no-limits-run", action="store_true", help="Skip the flood at the default limits.")
    parser.add_argument("--json", type=Path, help="Also write the reliability report's record here.")
    args = parser.parse_args()

    results = {
        name: run_target(TARGETS[name], clients=args.clients, seconds=args.seconds, max_requests=args.max_requests)
        for name in args.targets
    }
    if not args.no_limits_run:
        flood = run_limits(seconds=min(args.seconds, 20.0), max_requests=args.max_requests)
        results["search at default limits"] = [flood]
    table = markdown_table(results)
    server_errors = sum(int(str(row["server_errors"])) for rows in results.values() for row in rows)
    unfinished = sum(int(str(row["unfinished"])) for rows in results.values() for row in rows)
    settings: dict[str, object] = {"seconds": args.seconds, "clients": args.clients, "throughput_env": UNLIMITED}
    report("load", settings=settings, figures={"table": table, "runs": results})
    print(f"\n{machine()}, commit {commit()}\n\n{table}")
    write_record(
        check="load",
        figure=f"{server_errors} server errors (5xx other than 503 busy), {unfinished} unfinished requests "
        f"over {sum(len(rows) for rows in results.values())} runs of {args.seconds:g} s",
        passed=server_errors == 0,
        details={"table": table, "runs": results},
        path=args.json,
    )


if __name__ == "__main__":
    main()
