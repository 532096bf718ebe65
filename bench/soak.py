"""Memory over a soak: a real `footnote serve` under steady mixed load, its resident memory sampled throughout.

Ten clients alternate /v1/search and extractive /v1/ask for the given time (10 minutes by default). The figure
is the server's RSS after the warm-up and at the end; the check passes when memory stays flat, which here
means growing by less than 10% or 50 MB, whichever is larger, after the warm-up minute.

    python -m bench.soak --seconds 600 --json bench/out/reliability/soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import report
from bench.load import QUESTIONS, UNLIMITED
from bench.load_client import LoadResult, RequestSpec, run_load
from bench.reliability_record import write_record
from harness.server import footnote_server

WARM_UP_S = 60.0
SAMPLE_EVERY_S = 15.0
ALLOWED_GROWTH_MB = 50.0
ALLOWED_GROWTH_SHARE = 0.10


def resident_mb(pid: int) -> float:
    """A process's resident set size in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for process {pid}")


def mixed_requests() -> Iterator[RequestSpec]:
    """Search and ask, alternating, over the bench questions."""
    for question in itertools.cycle(QUESTIONS):
        yield RequestSpec("GET", "/v1/search", params={"q": question, "k": "6"})
        yield RequestSpec("POST", "/v1/ask", json={"question": question})


async def soak(url: str, pid: int, *, seconds: float, clients: int) -> tuple[LoadResult, list[tuple[float, float]]]:
    """Run the load and sample the server's memory while it runs."""
    samples: list[tuple[float, float]] = []
    started = time.perf_counter()

    async def sample() -> None:
        while True:
            samples.append((round(time.perf_counter() - started, 1), round(resident_mb(pid), 1)))
            await asyncio.sleep(SAMPLE_EVERY_S)

    sampler = asyncio.create_task(sample())
    try:
        result = await run_load(url, mixed_requests, clients=clients, seconds=seconds, max_requests=10**9)
    finally:
        sampler.cancel()
    samples.append((round(time.perf_counter() - started, 1), round(resident_mb(pid), 1)))
    return result, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--json", type=Path, help="Also write the reliability report's record here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="footnote-soak-") as scratch:
        env = {"FOOTNOTE_ANSWER_MODE": "extractive", **UNLIMITED}
        with footnote_server(Path(scratch) / "home", env) as server:
            result, samples = asyncio.run(soak(server.url, server.pid, seconds=args.seconds, clients=args.clients))
    after_warm_up = next((mb for at, mb in samples if at >= min(WARM_UP_S, args.seconds / 2)), samples[0][1])
    end = samples[-1][1]
    growth = end - after_warm_up
    flat = growth < max(ALLOWED_GROWTH_MB, ALLOWED_GROWTH_SHARE * after_warm_up)
    summary = result.summary()
    figures: dict[str, object] = {
        "rss_start_mb": samples[0][1],
        "rss_after_warm_up_mb": after_warm_up,
        "rss_end_mb": end,
        "growth_mb": round(growth, 1),
        "flat": flat,
        "samples": samples,
        "load": summary,
    }
    report("soak", settings={"seconds": args.seconds, "clients": args.clients}, figures=figures)
    write_record(
        check="soak",
        figure=f"RSS {after_warm_up:.0f} MB after warm-up, {end:.0f} MB after {args.seconds:g} s "
        f"({summary['answered']} answers, {summary['server_errors']} server errors)",
        passed=flat and summary["server_errors"] == 0,
        details=figures,
        path=args.json,
    )


if __name__ == "__main__":
    main()
