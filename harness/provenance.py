"""The machine and the commit a figure was measured on, recorded by every benchmark and reliability report."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from eval.provenance import git_commit

# The commit a figure was measured at: the same function the evaluation reports use.
commit = git_commit


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
