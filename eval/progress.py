"""Progress of a long evaluation run: a bar on a terminal, and in a log (no terminal) a line now and then, so a
run of an hour is not silent until its end."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO


class Progress:
    """Counts finished items; draws a tqdm bar on a terminal, else writes `desc: unit done of total, elapsed` lines."""

    def __init__(
        self,
        *,
        total: int,
        desc: str,
        unit: str,
        stream: TextIO | None = None,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._total, self._desc, self._unit = total, desc, unit
        self._stream = stream if stream is not None else sys.stderr
        self._every_s, self._clock = every_s, clock
        self._done = self._reported = 0
        self._started = self._last = clock()
        self._bar: Any = None
        if self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=unit, desc=desc, file=self._stream)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._done != self._reported:
            self._write()

    def update(self, count: int = 1) -> None:
        """`count` more items are finished."""
        self._done += count
        if self._bar is not None:
            self._bar.update(count)
            return
        now = self._clock()
        if now - self._last >= self._every_s or self._done == self._total:
            self._last = now
            self._write()

    def _write(self) -> None:
        minutes = (self._clock() - self._started) / 60
        self._reported = self._done
        line = f"{self._desc}: {self._unit} {self._done} of {self._total}, {minutes:.1f} min"
        print(line, file=self._stream, flush=True)
