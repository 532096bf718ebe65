"""The embedded model's file: joined from its parts, held to its pinned size and hash, refused otherwise."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from service.answering.model_files import (
    LocalModelCorruptError,
    LocalModelMissingError,
    ModelRelease,
    install,
    verified_model_path,
)

PARTS = [b"first part;", b"second part;", b"third."]


def _release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, parts: list[bytes], whole: bytes) -> ModelRelease:
    """Part packages made on disk (importable, like the PyPI parts) for a release whose whole is `whole`."""
    site = tmp_path / "site"
    for number, content in enumerate(parts, start=1):
        package = site / f"fake_model_part{number}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("", encoding="utf-8")
        (package / "data" / f"part{number:02d}.bin").write_bytes(content)
    monkeypatch.syspath_prepend(str(site))
    return ModelRelease(
        file_name="fake.gguf",
        part_package="fake_model_part{n}",
        part_file="data/part{n:02d}.bin",
        parts=len(PARTS),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        pip_requirement="fake-model-part{n}==1.0",
    )


def test_the_parts_are_joined_in_order_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = _release(tmp_path, monkeypatch, parts=PARTS, whole=b"".join(PARTS))
    path = install(release, directory=tmp_path / "models")
    assert path.read_bytes() == b"".join(PARTS)
    assert verified_model_path(release, directory=tmp_path / "models") == path
    assert not list((tmp_path / "models").glob("*.partial"))


def test_a_whole_that_is_not_the_pinned_release_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = _release(tmp_path, monkeypatch, parts=PARTS, whole=b"".join(reversed(PARTS)))
    with pytest.raises(LocalModelCorruptError, match="sha256 .* not .*refusing to load it"):
        install(release, directory=tmp_path / "models")
    assert not (tmp_path / "models" / "fake.gguf").exists()


def test_a_file_changed_after_verification_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = _release(tmp_path, monkeypatch, parts=PARTS, whole=b"".join(PARTS))
    path = install(release, directory=tmp_path / "models")
    tampered = bytearray(path.read_bytes())
    tampered[0] ^= 0xFF
    path.write_bytes(bytes(tampered))
    os.utime(path, ns=(1, 1))
    with pytest.raises(LocalModelCorruptError, match="refusing to load it"):
        verified_model_path(release, directory=tmp_path / "models")


def test_a_truncated_file_is_refused_by_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = _release(tmp_path, monkeypatch, parts=PARTS, whole=b"".join(PARTS))
    path = install(release, directory=tmp_path / "models")
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(LocalModelCorruptError, match="bytes, not the"):
        verified_model_path(release, directory=tmp_path / "models")


def test_a_missing_part_names_the_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = _release(tmp_path, monkeypatch, parts=PARTS[:2], whole=b"".join(PARTS))
    with pytest.raises(LocalModelMissingError, match="fake-model-part3==1.0"):
        install(release, directory=tmp_path / "models")
