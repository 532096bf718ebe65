"""A crash between the SQLite commit and the Milvus upsert: `footnote index check` finds it, the writer refuses to
serve the stale index, and `footnote index rebuild` repairs Milvus from the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import main
from service.settings import get_settings
from tests.conftest import BUNDLED_CORPUS, PROJECT_ROOT

pytestmark = pytest.mark.slow

# A child process that dies (no clean-up, as on a power cut) the moment the writer, having committed the
# documents to SQLite, starts writing their passages to Milvus.
_CRASHING_INGEST = """
import os, sys
import index.milvus_store as milvus_store
from service.cli import main

def crash(*args, **kwargs):
    os._exit(137)

milvus_store.MilvusStore.insert_passages = crash
sys.exit(main(["ingest", sys.argv[1]]))
"""


@pytest.fixture
def milvus_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder whose settings choose the Milvus backend on a milvus-lite folder inside it."""
    monkeypatch.setenv("FOOTNOTE_INDEX_BACKEND", "milvus")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_crash_between_the_store_and_milvus_is_found_and_repaired(
    milvus_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHING_INGEST, str(BUNDLED_CORPUS)],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crashed.returncode == 137, crashed.stderr[-2000:]

    code, out, err = run(capsys, "index", "check", "--json")
    found = json.loads(out)
    assert code == 1 and not found["ok"] and not found["problems"], err  # the store is intact; Milvus is behind
    assert any("a write was cut short between the store and Milvus" in p for p in found["milvus"]["problems"])
    assert any("passages of the store are missing from Milvus" in p for p in found["milvus"]["problems"])
    code, _, err = run(capsys, "index", "check")
    assert code == 1 and "does not mirror" in err and "rebuild Milvus from the store" in err

    code, out, err = run(capsys, "search", "Zhirnov")
    assert code == 1 and "footnote index rebuild" in err and "Traceback" not in err

    code, out, err = run(capsys, "index", "rebuild")
    assert code == 0, err
    assert "Milvus" in out and "rebuilt from the store" in out

    code, out, err = run(capsys, "index", "check")
    assert code == 0 and "Milvus mirrors every passage" in out, err
    code, out, _ = run(capsys, "search", "Zhirnov", "--json")
    assert code == 0 and json.loads(out)[0]["document_id"] == "russia-china-after-kabul-2021"
