"""`footnote model install`, run as setup runs it: a real process against the installed model parts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.answering.model_files import QWEN_CODER_15B, models_dir

FOOTNOTE = Path(sys.executable).with_name("footnote")


def _footnote(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FOOTNOTE), *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


@pytest.mark.skipif(
    not (models_dir() / QWEN_CODER_15B.file_name).is_file(), reason="the embedded model is not installed"
)
def test_install_leaves_a_verified_model_as_it_is_and_says_so() -> None:
    target = models_dir() / QWEN_CODER_15B.file_name
    before = target.stat().st_mtime_ns
    result = _footnote("model", "install")
    assert result.returncode == 0, result.stderr
    assert f"{target}: 1,117,320,768 bytes, sha256 {QWEN_CODER_15B.sha256} verified" in result.stdout
    assert "Warning" not in result.stderr
    assert target.stat().st_mtime_ns == before


def test_an_unwritable_models_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the models folder should be", encoding="utf-8")
    result = _footnote("model", "install", env={"FOOTNOTE_MODELS_DIR": str(blocker / "models")})
    assert result.returncode == 1
    assert result.stderr.startswith("footnote: error: ")
    assert "FOOTNOTE_MODELS_DIR" in result.stderr
    assert "Traceback" not in result.stderr
    assert blocker.read_text(encoding="utf-8").startswith("a file")
