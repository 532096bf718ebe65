"""A process killed (SIGKILL) while saving an index snapshot leaves the previous snapshot or none usable: never
one that is used and wrong."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from index import Document
from index.snapshot import SNAPSHOT_DIRECTORY
from tests.conftest import PROJECT_ROOT
from tests.index.test_index_snapshot import generated_documents, open_collection, reference, reopen

# Opens the store (mode "open": no snapshot, so the indexes are rebuilt and saved) or saves the snapshot of the
# current state once more (mode "rewrite"; "loop" does so until killed), killing itself right after `step`.
CHILD = textwrap.dedent(
    """
    import functools, os, signal, sys
    from pathlib import Path
    import index.snapshot as snapshot
    from index import Collection
    from tests.fakes import FakeEmbedder

    home, mode, step = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

    def kill_at(name):
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    original = snapshot.write_snapshot
    snapshot.write_snapshot = functools.partial(original, after_step=kill_at)
    collection = Collection(home, embedder=FakeEmbedder())
    if mode != "open":
        state = collection.store.state()
        tag = snapshot.snapshot_tag(state, indexes=collection._index_parameters())
        parts = snapshot.load_snapshot(home, tag=tag, state=state)
        print("ready", flush=True)
        while True:
            original(home, parts, tag=tag, after_step=kill_at)
            if mode == "rewrite":
                break
    sys.exit(3)
    """
)
STEPS = [
    "file rowids.npy",
    "file vectors.npy",
    "file tokens.txt",
    "file dense.faiss",
    "directory",
    "manifest written",
    "manifest",
]


def run_child(home: Path, mode: str, step: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(home), mode, step],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def store(tmp_path: Path, bundled_documents: list[Document]) -> Path:
    home = tmp_path / "store"
    collection = open_collection(home)
    collection.ingest(bundled_documents + generated_documents(40))
    collection.close()
    return home


def assert_only_one_snapshot_is_left(home: Path) -> None:
    names = sorted(path.name for path in (home / SNAPSHOT_DIRECTORY).iterdir())
    assert len(names) == 3 and {".lock", "manifest.json"} < set(names), names


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_while_saving_the_first_snapshot_leaves_none_or_a_whole_one(store: Path, step: str) -> None:
    expected = reference(store)
    killed = run_child(store, "open", step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert reopen(store, "snapshot" if step == "manifest" else "database") == expected
    assert reopen(store, "snapshot") == expected
    assert_only_one_snapshot_is_left(store)  # the next save removed what the killed one left


@pytest.mark.parametrize("step", ["file vectors.npy", "manifest written", "manifest"])
def test_a_kill_while_rewriting_leaves_the_old_or_the_new_snapshot(store: Path, step: str) -> None:
    open_collection(store).close()  # saves the snapshot
    expected = reference(store)
    killed = run_child(store, "rewrite", step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert reopen(store, "snapshot") == expected


def test_kills_at_random_moments_never_leave_a_wrong_snapshot_in_use(store: Path) -> None:
    open_collection(store).close()
    expected = reference(store)
    rng = random.Random(11)
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(store), "loop", "never"],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        child.stdout.close()
        assert reopen(store, "snapshot") == expected
