"""The token-bucket rate limiter and the bounded generation slots."""

from __future__ import annotations

import threading
import time

import pytest

from service.http.limits import GenerationsBusy, GenerationSlots, HolderBusy, RateLimiter, retry_after_header
from tests.fakes import FakeClock


def test_a_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(60, clock=clock)  # one a second
    assert all(limiter.acquire("a") is None for _ in range(60))
    wait = limiter.acquire("a")
    assert wait is not None and wait == pytest.approx(1.0)
    assert limiter.acquire("b") is None, "buckets are per name"
    clock.now += 2.5
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == pytest.approx(0.5)


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after_header(0.2) == {"Retry-After": "1"}
    assert retry_after_header(2.1) == {"Retry-After": "3"}


def test_slots_queue_up_to_the_bound_and_turn_the_rest_away() -> None:
    slots = GenerationSlots(concurrent=1, queued=1, timeout_s=5)
    slots.acquire()
    waiter_got_slot = threading.Event()

    def waiter() -> None:
        with slots.slot():
            waiter_got_slot.set()

    queued = threading.Thread(target=waiter)
    queued.start()
    time.sleep(0.1)  # let it join the queue
    with pytest.raises(GenerationsBusy, match="queue is full"):
        slots.acquire()
    slots.release()
    queued.join(timeout=5)
    assert waiter_got_slot.is_set() and slots.running == 0


def test_a_queued_request_gives_up_after_the_timeout() -> None:
    slots = GenerationSlots(concurrent=1, queued=5, timeout_s=0.05)
    slots.acquire()
    with pytest.raises(GenerationsBusy, match="within"):
        slots.acquire()
    slots.release()
    with slots.slot():
        assert slots.running == 1


def test_a_freed_slot_goes_to_the_longest_waiting_request_not_a_newcomer() -> None:
    slots = GenerationSlots(concurrent=1, queued=2, timeout_s=10)
    slots.acquire()
    got: list[str] = []

    def take(name: str) -> None:
        slots.acquire()
        got.append(name)

    waiter = threading.Thread(target=take, args=("waiter",))
    waiter.start()
    deadline = time.monotonic() + 10
    while slots.waiting == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    slots.release()
    newcomer = threading.Thread(target=take, args=("newcomer",))
    newcomer.start()
    waiter.join(timeout=10)
    assert got == ["waiter"], "the newcomer queued behind the waiter"
    slots.release()
    newcomer.join(timeout=10)
    assert got == ["waiter", "newcomer"]
    slots.release()
    assert slots.running == 0


def test_one_holder_gets_at_most_its_share_and_forgets_it_when_done() -> None:
    slots = GenerationSlots(concurrent=4, queued=4, timeout_s=1, per_holder=1)
    slots.acquire("203.0.113.1")
    with pytest.raises(HolderBusy):
        slots.acquire("203.0.113.1")
    slots.acquire("203.0.113.2")  # another client still gets a slot
    slots.release("203.0.113.1")
    slots.acquire("203.0.113.1")  # its share is free again
    slots.release("203.0.113.1")
    slots.release("203.0.113.2")
    assert slots.running == 0
