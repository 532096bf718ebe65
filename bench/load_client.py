"""A bounded async load generator: N concurrent clients send requests for a fixed time and request budget.

It runs in the benchmark's process, against a `footnote serve` in another process on loopback, and sorts every
response into what a client sees: an answer (2xx), a rate limit (429), a full queue (503 `busy`), another
4xx, a server error (any other 5xx) or a transport error.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import numpy as np

# Requests that start before the deadline may still be running after it (an embedded-model answer waits in
# the generation queue): they get this long to finish, then count as unfinished.
GRACE_S = 60.0


@dataclass(frozen=True)
class RequestSpec:
    """One request to send."""

    method: str
    path: str
    json: dict[str, object] | None = None
    params: dict[str, str] | None = None


@dataclass(frozen=True)
class Outcome:
    """What one request got, and how long it took."""

    kind: str
    seconds: float


@dataclass(frozen=True)
class LoadResult:
    """The outcomes of one run."""

    clients: int
    wall_seconds: float
    outcomes: list[Outcome]

    def summary(self) -> dict[str, object]:
        """Requests/s of answered requests, their latency percentiles, and the count of every outcome kind."""
        answered = [outcome.seconds for outcome in self.outcomes if outcome.kind == "ok"]
        counts = Counter(outcome.kind for outcome in self.outcomes)
        latencies = np.asarray(answered) * 1000.0 if answered else np.asarray([float("nan")])
        return {
            "clients": self.clients,
            "requests": len(self.outcomes),
            "answered": len(answered),
            "answered_per_s": round(len(answered) / self.wall_seconds, 2) if self.wall_seconds else 0.0,
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p95_ms": round(float(np.percentile(latencies, 95)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1),
            "outcomes": dict(sorted(counts.items())),
            "server_errors": counts["server_error"],
            "unfinished": counts["unfinished"],
        }


def classify(response: httpx.Response) -> str:
    """The outcome kind of a response."""
    status = response.status_code
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status == 503:
        return "busy"
    if status < 500:
        return f"client_error_{status}"
    return "server_error"


async def run_load(
    base_url: str,
    requests: Callable[[], Iterator[RequestSpec]],
    *,
    clients: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Run `clients` concurrent clients for `seconds` or until `max_requests` were sent, whichever is first."""
    budget = itertools.count()
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(seconds + GRACE_S)
    started = time.perf_counter()
    deadline = started + seconds

    async def client(http: httpx.AsyncClient) -> None:
        for spec in requests():
            if time.perf_counter() >= deadline or next(budget) >= max_requests:
                return
            sent = time.perf_counter()
            try:
                response = await http.request(spec.method, spec.path, json=spec.json, params=spec.params)
                kind = classify(response)
            except httpx.TimeoutException:
                kind = "timeout"
            except httpx.TransportError:
                kind = "transport_error"
            outcomes.append(Outcome(kind=kind, seconds=time.perf_counter() - sent))

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, headers=headers) as http:
        tasks = [asyncio.create_task(client(http)) for _ in range(clients)]
        done, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_S)
        for task in pending:
            task.cancel()
        outcomes.extend(Outcome(kind="unfinished", seconds=seconds + GRACE_S) for _ in pending)
        for task in done:
            task.result()
    return LoadResult(clients=clients, wall_seconds=time.perf_counter() - started, outcomes=outcomes)
