"""Progress of a long run: lines in a log at most every so often, and always the last count."""

from __future__ import annotations

import io

from eval.progress import Progress
from tests.fakes import FakeClock


def test_a_log_gets_a_line_at_most_every_interval_and_one_at_the_end() -> None:
    log, clock = io.StringIO(), FakeClock()
    with Progress(total=5, desc="answer", unit="question", stream=log, every_s=60, clock=clock) as progress:
        for minute in (0.5, 0.9, 1.2, 1.4):
            clock.now = minute * 60
            progress.update()
        clock.now = 150
        progress.update()
        clock.now = 151  # the run closes a moment later: the last count is not written twice
    assert log.getvalue().splitlines() == ["answer: question 3 of 5, 1.2 min", "answer: question 5 of 5, 2.5 min"]


def test_a_run_stopped_early_reports_how_far_it_got() -> None:
    log, clock = io.StringIO(), FakeClock()
    with Progress(total=9, desc="search", unit="query", stream=log, every_s=60, clock=clock) as progress:
        clock.now = 10
        progress.update(2)
    assert log.getvalue().splitlines() == ["search: query 2 of 9, 0.2 min"]
