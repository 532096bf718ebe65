"""How many threads each compute library gets, set in one place and chosen by measurement.

Three libraries run numeric kernels in Footnote's process: the embedding model (PyTorch or ONNX Runtime),
FAISS, and llama.cpp (the embedded model). Each defaults to "every core", and they share the machine, so
each count here is the one `python -m bench.thread_counts` found fastest on a 2-core box; the figures and the
reasoning for larger machines are in docs/benchmarks.md ("Thread policy").
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# llama.cpp's token generation reads every weight once per token: it is bound by memory bandwidth, which a
# handful of cores saturate; past that, more threads only add synchronisation (its speed-ups flatten out at 4 to
# 8 threads). Its threads spin at a barrier after every layer, so one descheduled thread stalls the rest: on the
# 2-core box with other work running, 2 threads generated 0.26 tokens/s and 1 thread 1.83 (7x). A serving
# process embeds and searches other requests while it generates, so llama.cpp leaves them one core.
_LLAMA_MAX_THREADS = 8


@dataclass(frozen=True)
class ThreadCounts:
    """Threads per library for this process."""

    embedding: int  # intra-op threads of the embedding model while encoding a batch of passages
    search: int  # FAISS threads for one query (searches run one per request, side by side)
    llama: int  # llama.cpp generation threads (reading a prompt uses every core: llama-cpp-python's n_threads_batch)


def available_cores() -> int:
    """The processors this process may run on (a container or `taskset` can grant fewer than the machine has)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def thread_counts(cores: int | None = None) -> ThreadCounts:
    """The policy for `cores` processors (the available ones by default).

    - Embedding a batch: every core. It is one large matrix product per layer, which splits well; on 2 cores
      two threads beat one when nothing else runs (see the figures), and ingest is the only work of its process.
    - FAISS: one thread per query. A query's scan is a few milliseconds; waking a second OpenMP thread cost more
      than it saved (two threads made one query 3x slower on 2 cores), and concurrent requests already use the
      other cores. This holds on a larger box for the same reason.
    - llama.cpp: every core but one, at least 1 and at most 8 (see `_LLAMA_MAX_THREADS`).
    """
    count = cores if cores is not None else available_cores()
    if count < 1:
        raise ValueError("cores must be at least 1")
    return ThreadCounts(embedding=count, search=1, llama=max(1, min(count - 1, _LLAMA_MAX_THREADS)))
