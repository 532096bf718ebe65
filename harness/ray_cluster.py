"""A real two-node Ray cluster on one machine, for tests and benchmarks: the head on 127.0.0.2, a worker on 127.0.0.3.

Each node is its own `ray start --block` process with 1 CPU. 127.0.0.1 for both is refused (Ray sees one node
address twice), hence two loopback addresses. Token authentication is on, with the token in the cluster's own
temporary folder (RAY_AUTH_TOKEN_PATH), so nothing is written to ~/.ray. Stopping ends exactly the processes
these two started (their process trees, collected while they still lead to them), never Ray processes by name.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HEAD_HOST = "127.0.0.2"
WORKER_HOST = "127.0.0.3"
_STARTED = "block forever"  # what `ray start --block` prints once its node is up
_NODES_UP = """
import sys, time, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
deadline = time.monotonic() + float(sys.argv[2])
while sum(node["Alive"] for node in ray.nodes()) < 2:
    if time.monotonic() > deadline:
        sys.exit("only %d node(s) joined" % sum(node["Alive"] for node in ray.nodes()))
    time.sleep(0.5)
"""


class ClusterUnavailableError(Exception):
    """This platform cannot run two Ray nodes on one machine (no second loopback address, or no Ray)."""


@dataclass
class LocalRayCluster:
    """A running cluster: where to reach it, and the environment a driver needs (token auth included)."""

    folder: Path
    address: str
    env: dict[str, str]
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def rss_bytes(self) -> int:
        """The resident memory of every process of both nodes (GCS, raylets, agents, idle workers)."""
        total = 0
        for pid in (pid for process in self._processes for pid in _tree(process.pid)):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += sum(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
        return total

    def log_tail(self, lines: int = 20) -> str:
        """The end of each node's log, for a failure message."""
        tails = []
        for log in sorted(self.folder.glob("*.log")):
            tails.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(tails)


def unavailable_reason() -> str | None:
    """Why two nodes cannot start here, or None when they can."""
    # Looked up, not imported: Ray reads RAY_AUTH_MODE once, at import, and a driver in this process sets it later.
    if importlib.util.find_spec("ray") is None:
        return "Ray is not installed (the ray extra: pip install 'footnote[ray]')"
    for host in (HEAD_HOST, WORKER_HOST):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
        except OSError as error:
            return f"cannot bind {host} ({error}): this platform has no 127.0.0.0/8 loopback beyond 127.0.0.1"
    return None


@contextmanager
def local_ray_cluster(*, object_store_bytes: int = 150_000_000, timeout_s: float = 180.0) -> Iterator[LocalRayCluster]:
    """Start the head and the worker, wait until both have joined, and stop them afterwards."""
    reason = unavailable_reason()
    if reason is not None:
        raise ClusterUnavailableError(reason)
    # Short: Ray keeps its sockets under this folder, and a Unix socket path has at most 107 bytes.
    folder = Path(tempfile.mkdtemp(prefix="fn-ray-", dir="/tmp"))
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32), encoding="utf-8")
    token.chmod(0o600)
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    port = _free_port(HEAD_HOST)
    cluster = LocalRayCluster(folder=folder, address=f"{HEAD_HOST}:{port}", env=env)
    common = [
        "--block",
        "--num-cpus=1",
        f"--object-store-memory={object_store_bytes}",
        f"--temp-dir={folder / 'ray'}",
        "--disable-usage-stats",
    ]
    try:
        head = ["--head", f"--node-ip-address={HEAD_HOST}", f"--port={port}", "--include-dashboard=false"]
        _start_node(cluster, "head", head + common, timeout_s=timeout_s)
        worker = [f"--address={cluster.address}", f"--node-ip-address={WORKER_HOST}"]
        _start_node(cluster, "worker", worker + common, timeout_s=timeout_s)
        waited = subprocess.run(
            [sys.executable, "-c", _NODES_UP, cluster.address, str(timeout_s)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s + 30,
            check=False,
        )
        if waited.returncode != 0:
            raise RuntimeError(f"the two Ray nodes did not join: {waited.stderr[-2000:]}\n{cluster.log_tail()}")
        yield cluster
    finally:
        _stop(cluster)
        shutil.rmtree(folder, ignore_errors=True)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _start_node(cluster: LocalRayCluster, name: str, arguments: list[str], *, timeout_s: float) -> None:
    log = cluster.folder / f"{name}.log"
    ray = Path(sys.executable).with_name("ray")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ray), "start", *arguments],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cluster.env,
            start_new_session=True,
        )
    cluster._processes.append(process)
    deadline = time.monotonic() + timeout_s
    while _STARTED not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Ray {name} node did not start:\n{cluster.log_tail(40)}")
        time.sleep(0.5)


def _stop(cluster: LocalRayCluster) -> None:
    # Ray's workers leave their parent's process group, so the trees are collected by parent id first.
    pids = [pid for process in cluster._processes for pid in _tree(process.pid)]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + 8  # `ray start --block` lingers; the rest goes at once
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.3)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    for process in cluster._processes:
        process.wait(timeout=30)


def _tree(root: int) -> list[int]:
    """`root` and every process below it, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        waiting.extend(children.get(pid, []))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
