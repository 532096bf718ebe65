"""A real `footnote serve` in a subprocess on a free port, for end-to-end tests over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# Loading the embedding model and indexing the bundled articles takes seconds; a slow shared CI machine more.
_READY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class RunningServer:
    """A server's base URL and where its log goes."""

    url: str
    log: Path
    pid: int


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def footnote_server(
    home: Path, env: Mapping[str, str] | None = None, *, port: int | None = None
) -> Iterator[RunningServer]:
    """Start `footnote serve` on `port` (or a free one) with a data directory and FOOTNOTE_* settings; stop it."""
    port = port or free_port()
    log = home.parent / f"server-{port}.log"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")},
        "FOOTNOTE_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--log-level", "warning"]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(url, process, log)
            yield RunningServer(url=url, log=log, pid=process.pid)
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes], *, grace_s: float = 20) -> None:
    """Ask a server to stop, and kill it if it has not stopped after `grace_s` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"footnote serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"footnote serve was not ready within {_READY_TIMEOUT_S:g} s:\n{log.read_text()[-3000:]}")
