"""What every benchmark prints with its figures: the machine, the commit and the settings."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.provenance import commit, machine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"


def percentile_ms(samples: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def time_calls(call: Callable[[], object], *, repeats: int) -> list[float]:
    """Durations in seconds of `repeats` calls."""
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return durations


def report(name: str, *, settings: dict[str, object], figures: dict[str, object]) -> None:
    """Print a benchmark's figures with the configuration that produced them, and save them as JSON."""
    record = {"benchmark": name, "commit": commit(), "machine": machine(), "settings": settings, "figures": figures}
    out = PROJECT_ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
