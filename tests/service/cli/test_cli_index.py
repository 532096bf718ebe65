"""`footnote index check` finds a damaged store, commands refuse it, and `footnote index rebuild` repairs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.store import DATABASE_NAME
from service.cli import main
from tests.conftest import BUNDLED_CORPUS

pytestmark = pytest.mark.slow


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def flip_a_bit_of(path: Path, needle: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[data.index(needle) + 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_check_finds_damage_commands_refuse_it_and_rebuild_repairs_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "ingest", str(BUNDLED_CORPUS))[0] == 0
    code, out, _ = run(capsys, "index", "check")
    assert code == 0 and "ok (2 documents" in out

    flip_a_bit_of(home / DATABASE_NAME, b"Zhirnov")
    damaged = (home / DATABASE_NAME).read_bytes()
    code, _, err = run(capsys, "index", "check")
    assert code == 1
    assert "document 'russia-china-after-kabul-2021' fails its checksum" in err and "footnote index rebuild" in err
    code, out, err = run(capsys, "search", "Zhirnov")
    assert code == 1 and out == "" and "will not be served" in err and "Traceback" not in err
    code, out, _ = run(capsys, "index", "check", "--json")
    assert code == 1 and json.loads(out)["damaged_documents"] == ["russia-china-after-kabul-2021"]

    code, out, err = run(capsys, "index", "rebuild")
    assert code == 0, err
    assert "1 documents recovered" in out and "1 lost" in out and "russia-china-after-kabul-2021" in out
    backups = list(home.glob("damaged-*/footnote.db"))
    assert len(backups) == 1 and backups[0].read_bytes() == damaged  # kept as it was, bit flip and all
    assert run(capsys, "index", "check")[0] == 0
    code, out, _ = run(capsys, "docs", "list", "--json")
    assert [d["id"] for d in json.loads(out)] == ["russia-afghan-security-2021"]
    assert run(capsys, "ingest", str(BUNDLED_CORPUS))[1].startswith("1 added, 0 updated, 1 unchanged")
    code, out, _ = run(capsys, "search", "Zhirnov", "--json")
    assert code == 0 and json.loads(out)[0]["document_id"] == "russia-china-after-kabul-2021"


def test_check_on_a_missing_store_is_an_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "index", "check")
    assert code == 1 and "does not exist" in err
