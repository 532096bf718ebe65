"""A flood from one client (OWASP LLM10, unbounded consumption) while a second client keeps asking.

A real `footnote serve` on loopback with the embedded model, two site keys and the default limits. The flood
client (key A, address 127.0.0.1) runs many concurrent workers against /v1/ask and /v1/search for a fixed time;
the second client (key B, address 127.0.0.2) sends one search and one question at a time throughout. Reported:
the flood's share of 429 (rate limits, per-address generation share) and 503 (busy) answers, any 5xx, and the
second client's success rate and latency. Passes when the flood is held back (429s, no 5xx but 503 busy) and the
second client gets at least 95% of its requests answered.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import percentile_ms
from bench.reliability_record import write_record

FLOOD_KEY, CALM_KEY = "pk_flood_bench", "pk_calm_bench"
FLOOD_ORIGIN, CALM_ORIGIN = "https://flood.example", "https://calm.example"
QUESTIONS = [
    "why is Russia expanding its role?",
    "What did Lavrov say?",
    "Where did Russia hold military drills?",
    "What is China's position on the Taliban?",
]
CALM_SUCCESS_GOAL = 0.95


@dataclass
class Tally:
    """Statuses and latencies of one client's requests, per route."""

    statuses: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, status: int | None, seconds: float, error: str = "") -> None:
        with self.lock:
            self.statuses[f"{route} {status if status is not None else 'error'}"] += 1
            if status == 200:
                self.latencies.setdefault(route, []).append(seconds)
            if error:
                self.errors[error] += 1


def _client(address: str, key: str, origin: str, timeout: float) -> httpx.Client:
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=address),
        headers={"Authorization": f"Bearer {key}", "Origin": origin},
        timeout=timeout,
    )


def _call(client: httpx.Client, base: str, route: str, n: int, tally: Tally) -> None:
    question = QUESTIONS[n % len(QUESTIONS)]
    started = time.perf_counter()
    try:
        if route == "ask":
            response = client.post(f"{base}/v1/ask", json={"question": question})
        else:
            response = client.get(f"{base}/v1/search", params={"q": question})
        tally.add(route, response.status_code, time.perf_counter() - started)
    except httpx.HTTPError as error:
        tally.add(route, None, time.perf_counter() - started, type(error).__name__)


def flood(base: str, *, workers: int, until: float, tally: Tally) -> None:
    """Many workers from one address and one key, asking and searching back to back."""

    def worker(index: int) -> None:
        with _client("127.0.0.1", FLOOD_KEY, FLOOD_ORIGIN, timeout=120) as client:
            n = index
            while time.monotonic() < until:
                _call(client, base, "ask" if n % 2 == 0 else "search", n, tally)
                n += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def calm(base: str, *, until: float, tally: Tally, pause_s: float) -> None:
    """The other client: a search, then a question, one at a time, with a pause between."""
    with _client("127.0.0.2", CALM_KEY, CALM_ORIGIN, timeout=120) as client:
        n = 0
        while time.monotonic() < until:
            _call(client, base, "search", n, tally)
            _call(client, base, "ask", n, tally)
            n += 1
            time.sleep(pause_s)


def _share(counter: Counter[str], predicate: str) -> int:
    return sum(count for key, count in counter.items() if key.endswith(predicate))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the result object here")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the flood lasts")
    parser.add_argument("--workers", type=int, default=16, help="concurrent flood workers")
    parser.add_argument("--answer-mode", choices=["generate", "extractive"], default="generate")
    args = parser.parse_args(argv)
    from harness.server import footnote_server  # the same launcher the end-to-end tests use

    flood_tally, calm_tally = Tally(), Tally()
    env = {
        "FOOTNOTE_SITE_KEYS": json.dumps({FLOOD_KEY: [FLOOD_ORIGIN], CALM_KEY: [CALM_ORIGIN]}),
        "FOOTNOTE_ANSWER_MODE": args.answer_mode,
        "FOOTNOTE_MAX_TOKENS": "64",  # bounded generations: the point is the limits, not the prose
    }
    with tempfile.TemporaryDirectory(prefix="footnote-flood-") as tmp, footnote_server(Path(tmp) / "home", env) as srv:
        until = time.monotonic() + args.seconds
        flooding = threading.Thread(
            target=flood, args=(srv.url,), kwargs={"workers": args.workers, "until": until, "tally": flood_tally}
        )
        flooding.start()
        time.sleep(min(2.0, args.seconds / 4))  # let the flood fill the queue first
        calm(srv.url, until=until, tally=calm_tally, pause_s=0.5)
        flooding.join()
        metrics = httpx.get(f"{srv.url}/metrics", timeout=30).text
    rejected = [line for line in metrics.splitlines() if line.startswith("footnote_requests_rejected_total{")]

    flood_total = sum(flood_tally.statuses.values())
    calm_total = sum(calm_tally.statuses.values())
    calm_ok = _share(calm_tally.statuses, " 200")
    flood_429, flood_503 = _share(flood_tally.statuses, " 429"), _share(flood_tally.statuses, " 503")
    fives = sum(
        count
        for tally in (flood_tally, calm_tally)
        for key, count in tally.statuses.items()
        if key.split()[-1].startswith("5") and not key.endswith(" 503")
    )
    calm_rate = calm_ok / calm_total if calm_total else 0.0
    latency = {
        route: {"p50_ms": round(percentile_ms(samples, 50), 1), "p95_ms": round(percentile_ms(samples, 95), 1)}
        for route, samples in calm_tally.latencies.items()
        if samples
    }
    passed = flood_429 > 0 and fives == 0 and calm_rate >= CALM_SUCCESS_GOAL
    ask_p50 = latency.get("ask", {}).get("p50_ms")
    figure = (
        f"flood: {flood_429}/{flood_total} got 429, {flood_503} got 503; second client: {calm_ok}/{calm_total} "
        f"served ({100 * calm_rate:.0f}%), ask p50 {ask_p50} ms; {fives} 5xx other than 503"
    )
    print(json.dumps({"flood": flood_tally.statuses, "calm": calm_tally.statuses}, indent=2), file=sys.stderr)
    write_record(
        check="flood",
        figure=figure,
        passed=passed,
        details={
            "seconds": args.seconds,
            "flood_workers": args.workers,
            "answer_mode": args.answer_mode,
            "flood_statuses": dict(flood_tally.statuses),
            "flood_errors": dict(flood_tally.errors),
            "calm_statuses": dict(calm_tally.statuses),
            "calm_errors": dict(calm_tally.errors),
            "calm_success_rate": round(calm_rate, 4),
            "calm_latency": latency,
            "rejected_metrics": rejected,
            "limits": "defaults: 60/min per key, 120/min per address, 2 generations, 8 queued, 2 per address",
        },
        path=args.json,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
