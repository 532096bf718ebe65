"""What every benchmark prints with its figures: the machine, the commit and the settings."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eval.provenance import git_commit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The commit a figure was measured at: the same function the evaluation reports use.
commit = git_commit
SHARED = PROJECT_ROOT.parent / "shared"


def machine() -> str:
    """CPU model, core count and Python version."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


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
