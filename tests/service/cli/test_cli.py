"""The `footnote` command line, run in-process and as a real subprocess, with the real embedding model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from tests.conftest import BUNDLED_CORPUS

pytestmark = pytest.mark.slow

CANONICAL = "why is Russia expanding its role?"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_search_on_an_empty_store_indexes_the_bundled_corpus(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", CANONICAL, "-k", "4", "--json")
    assert code == 0
    assert "indexing the bundled corpus" in err
    passages = json.loads(out)
    assert len(passages) == 4
    assert set(passages[0]) >= {"document_id", "title", "passage_id", "text", "start", "end", "score"}
    assert passages[0]["document_id"] == "russia-afghan-security-2021"
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    for passage in passages:
        code, shown, _ = run(capsys, "docs", "show", passage["document_id"], "--json")
        assert code == 0
        text = json.loads(shown)["text"]
        assert text[passage["start"] : passage["end"]] == passage["text"]
    code, out, err = run(capsys, "search", CANONICAL)
    assert code == 0 and err == ""
    assert out.startswith("[1] Russia's expanding role in Afghan security, 2021-08-10")


def test_ingest_is_idempotent_and_docs_can_be_listed_and_deleted(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "ingest", str(BUNDLED_CORPUS))[1].startswith("2 added, 0 updated, 0 unchanged")
    assert run(capsys, "ingest", str(BUNDLED_CORPUS / "*.md"))[1].startswith("0 added, 0 updated, 2 unchanged")
    code, out, _ = run(capsys, "docs", "list", "--json")
    assert [d["id"] for d in json.loads(out)] == ["russia-afghan-security-2021", "russia-china-after-kabul-2021"]
    assert run(capsys, "docs", "delete", "russia-china-after-kabul-2021")[0] == 0
    code, out, _ = run(capsys, "docs", "list")
    assert "1 of 1 documents" in out
    code, _, err = run(capsys, "docs", "show", "russia-china-after-kabul-2021")
    assert code == 1 and "no document with id 'russia-china-after-kabul-2021'" in err


def test_a_bad_file_fails_the_whole_ingest_and_loses_nothing(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "ingest", str(BUNDLED_CORPUS))[0] == 0
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "good.md").write_text("---\nid: good\n---\nA perfectly good article.\n", encoding="utf-8")
    (folder / "bad.md").write_text("---\ntitle: [oops\n---\nBody.\n", encoding="utf-8")
    code, out, err = run(capsys, "ingest", str(folder))
    assert code == 1
    assert "bad.md" in err and "malformed front matter" in err and "Traceback" not in err
    code, out, _ = run(capsys, "docs", "list", "--json")
    assert [d["id"] for d in json.loads(out)] == ["russia-afghan-security-2021", "russia-china-after-kabul-2021"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "/definitely/not/here.md"], "no such file or folder"),
        (["docs", "delete", "nope"], "no document with id 'nope'"),
    ],
)
def test_user_errors_exit_non_zero_with_a_message(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert message in err


def test_ask_extractive_with_a_follow_up(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The follow-up rewrite and the CLI are under test here, so the heuristic judges (in well under a second); the
    # model judge refuses this follow-up (the articles discuss China's interests, not why it expands its role).
    monkeypatch.setenv("FOOTNOTE_JUDGE_MODEL", "heuristic")
    code, out, _ = run(capsys, "ask", "and China?", "--previous", CANONICAL, "--extractive", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["standalone_question"] == "why is China expanding its role?"
    assert answer["mode"] == "extractive" and answer["citations"]


def test_usage_errors_exit_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["search", "question", "-k", "0"])
    assert raised.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "question", "-k", "abc"])
    assert "expected a whole number, got 'abc'" in capsys.readouterr().err
    for command in ("search", "ask"):
        with pytest.raises(SystemExit) as raised:
            main([command, " \t\n"])
        assert raised.value.code == 2
        assert "a question needs at least one word" in capsys.readouterr().err


def test_console_script_in_a_real_process(tmp_path: Path) -> None:
    executable = shutil.which("footnote", path=str(Path(sys.executable).parent))
    assert executable is not None, "the footnote console script is installed next to the interpreter"
    environment = {**os.environ, "FOOTNOTE_HOME": str(tmp_path / "home")}
    completed = subprocess.run(
        [executable, "search", "What did Tajikistan's president warn about?", "-k", "2", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    passages = json.loads(completed.stdout)
    assert any("Rahmon" in p["text"] for p in passages)
