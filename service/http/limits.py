"""Rate limits per key and per client address, and a bounded number of concurrent generations."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Buckets idle this long are forgotten, so a flood of distinct addresses cannot grow memory without bound.
_IDLE_BUCKET_S = 600.0
_SWEEP_EVERY = 1024


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per name: `per_minute` requests a minute, in bursts of up to `per_minute`."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def acquire(self, name: str) -> float | None:
        """Take one request from `name`'s bucket; None when allowed, else the seconds until it would be."""
        now = self._clock()
        with self._lock:
            self._calls += 1
            if self._calls % _SWEEP_EVERY == 0:
                self._sweep(now)
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_s)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self.refill_per_s

    def _sweep(self, now: float) -> None:
        idle = [name for name, bucket in self._buckets.items() if now - bucket.updated > _IDLE_BUCKET_S]
        for name in idle:
            del self._buckets[name]


def retry_after_header(seconds: float) -> dict[str, str]:
    """The Retry-After header for a wait, in whole seconds (at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class GenerationsBusy(Exception):
    """Every generation slot is taken and the queue is full, or the wait for a slot ran out."""


class HolderBusy(GenerationsBusy):
    """One client already holds (or waits for) as many generations as it may."""


class GenerationSlots:
    """At most `concurrent` generations at once and at most `queued` waiting; the rest are turned away.

    Turning requests away at once (503) beats letting them pile up: on two cores a queued generation waits
    seconds per request ahead of it, and its client has long given up by then. With `per_holder`, one client
    (a holder, named by its address) may hold or wait for at most that many, so a single client flooding the
    service cannot fill the queue and lock everyone else out.
    """

    def __init__(self, *, concurrent: int, queued: int, timeout_s: float, per_holder: int | None = None) -> None:
        self._queued = queued
        self._timeout_s = timeout_s
        self._per_holder = per_holder
        self._held: dict[str, int] = {}
        # Waiting requests in arrival order. A semaphore is not fair (a newcomer can take a slot that was freed
        # for a thread not yet awake), so slots are handed out under one condition, to the queue's head only.
        self._queue: deque[object] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.capacity = concurrent
        self._running = 0

    @property
    def running(self) -> int:
        """Generations holding a slot now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Generations queued for a slot now."""
        return len(self._queue)

    def acquire(self, holder: str | None = None) -> None:
        """Take a slot, waiting in the bounded queue; raises GenerationsBusy when there is no room, HolderBusy
        when `holder` already has its share."""
        if holder is not None and self._per_holder is not None:
            with self._lock:
                if self._held.get(holder, 0) >= self._per_holder:
                    raise HolderBusy(f"this client already has {self._per_holder} answers in progress")
                self._held[holder] = self._held.get(holder, 0) + 1
        try:
            self._acquire_slot()
        except GenerationsBusy:
            self._let_go(holder)
            raise

    def _acquire_slot(self) -> None:
        with self._changed:
            # A free slot goes to whoever has waited longest: a newcomer may take it at once only when nobody
            # waits, else a flood of fresh requests would grab every slot that comes free and starve the queue.
            if not self._queue and self._running < self.capacity:
                self._running += 1
                return
            if len(self._queue) >= self._queued:
                raise GenerationsBusy("every generation slot is busy and the queue is full")
            ticket = object()
            self._queue.append(ticket)
            try:
                if not self._changed.wait_for(
                    lambda: self._queue[0] is ticket and self._running < self.capacity, timeout=self._timeout_s
                ):
                    raise GenerationsBusy(f"no generation slot came free within {self._timeout_s:g} s")
                self._running += 1
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may now be the head

    def release(self, holder: str | None = None) -> None:
        """Give a slot back."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()
        self._let_go(holder)

    def _let_go(self, holder: str | None) -> None:
        if holder is None or self._per_holder is None:
            return
        with self._lock:
            left = self._held.get(holder, 1) - 1
            if left > 0:
                self._held[holder] = left
            else:
                self._held.pop(holder, None)  # forget idle holders: a flood of addresses cannot grow memory

    @contextmanager
    def slot(self, holder: str | None = None) -> Iterator[None]:
        """Hold a slot for the duration of a block."""
        self.acquire(holder)
        try:
            yield
        finally:
            self.release(holder)
