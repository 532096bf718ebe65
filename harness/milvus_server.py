"""A real milvus-lite server in a subprocess on 127.0.0.1, for tests and benchmarks of the Milvus backend.

It speaks the same gRPC API as a Milvus standalone or distributed cluster, so several processes (a writer and
its replicas) can share one index, which a milvus-lite folder opened in-process does not allow.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.server import free_port, stop_process

_READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class MilvusServer:
    """A running server's address and process id (benchmarks read its memory)."""

    uri: str
    pid: int


@contextmanager
def milvus_lite_server(data_dir: Path, *, port: int | None = None) -> Iterator[MilvusServer]:
    """Start `milvus-lite server` on a free port over `data_dir`; yields its address and pid; stops it."""
    port = port or free_port()
    log = data_dir.parent / f"milvus-{port}.log"
    command = [
        sys.executable,
        "-m",
        "milvus_lite",
        "server",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, process, log)
            yield MilvusServer(uri=f"http://127.0.0.1:{port}", pid=process.pid)
        finally:
            stop_process(process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"milvus-lite server did not listen within {_READY_TIMEOUT_S:g} s:\n{log.read_text()[-3000:]}")
