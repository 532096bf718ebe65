"""Index snapshots: the built FAISS and BM25 indexes saved beside the store, so opening it need not rebuild them.

The database stays the source of truth. A snapshot is a directory of arrays in `FOOTNOTE_HOME/index/`, named by
a small manifest (`index/manifest.json`) that records the store state the indexes were built from (the store's
random id, its generation and its row-count-and-checksum manifest: see `StoreState`), the index settings, and
each file's size and CRC32. A snapshot is used only when all of these match the open store and every file
checks out; anything else (missing, stale, truncated, bit-flipped, written by another Footnote) is skipped with
one log line and the indexes are rebuilt from the database, as without snapshots.

Writes are crash-safe by order: every file goes into a fresh directory and is fsynced, then the manifest is
written to a temporary file, fsynced and renamed over the old one. Until that rename the old manifest names the
old, untouched directory; after it, the new one. Directories the manifest does not name are removed afterwards.
A lock file keeps a writer from removing a directory while another process reads it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import mmap
import os
import shutil
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from index.durable import fsync_directory, fsync_file
from index.embedding import Vectors
from index.integrity import StoreState
from index.lexical_index import Bm25Index, BuiltParts
from index.store import IndexedPassageRows
from index.vector_index import FaissVectorIndex, IndexKind, RowIds

SNAPSHOT_DIRECTORY = "index"
MANIFEST_NAME = "manifest.json"
# Raised whenever the files or their meaning change: a snapshot of another format is never read.
FORMAT = 1
_LOCK_NAME = ".lock"
_TEMPORARY_PREFIX = ".tmp-"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexParts:
    """What a collection's in-memory indexes are made of, row by row in row-id order, plus the built indexes."""

    rowids: RowIds
    document_ids: list[str]
    tokens: list[str]
    # The store's checksum of each row: ties the snapshot to the store's manifest (their sum is its digest).
    checksums: npt.NDArray[np.int64]
    vectors: Vectors | None
    faiss_index: Any
    cells_trained_on: int
    lexical: BuiltParts | None


class CollectionSettingsLike(Protocol):
    """The index settings a restore needs (index.collection's CollectionSettings, without importing it)."""

    @property
    def index_kind(self) -> IndexKind: ...
    @property
    def exact_search_up_to(self) -> int | None: ...
    @property
    def bm25_k1(self) -> float: ...
    @property
    def bm25_b(self) -> float: ...


class SnapshotUnusable(Exception):
    """Why a snapshot is not used; the caller rebuilds from the database."""


def snapshot_tag(state: StoreState, *, indexes: dict[str, object]) -> dict[str, object]:
    """What a snapshot must have been built from to be used: the store's state and the index settings."""
    import faiss

    return {"format": FORMAT, "store": state.as_tag(), "indexes": indexes, "faiss": faiss.__version__}


# --- between a collection's indexes and a snapshot ------------------------------------------------------------
def save_indexes(
    home: Path,
    rows: IndexedPassageRows,
    dense: FaissVectorIndex | None,
    lexical: Bm25Index,
    *,
    indexes: dict[str, object],
) -> None:
    """Save indexes just built from `rows` as the snapshot of the state the rows were read in; never raises."""
    if len(rows.rowids) == 0:
        return  # nothing to gain: an empty store opens at once
    rowids, vectors, faiss_index, cells = dense.parts() if dense is not None else (rows.rowids, None, None, 0)
    lexical_rowids, tokens, built = lexical.parts()
    if not (np.array_equal(rowids, rows.rowids) and lexical_rowids == rows.rowids.tolist()):
        return  # never expected: the indexes hold the rows in row-id order, as read
    parts = IndexParts(
        rowids=rows.rowids,
        document_ids=rows.document_ids,
        tokens=tokens,
        checksums=rows.checksums,
        vectors=vectors,
        faiss_index=faiss_index,
        cells_trained_on=cells,
        lexical=built.to_parts() if built is not None else None,
    )
    try:
        write_snapshot(home, parts, tag=snapshot_tag(rows.state, indexes=indexes))
    except (OSError, ValueError, RuntimeError) as error:  # a read-only home, a full disk: opening is only slower
        logger.warning("%s: the index snapshot was not saved (%s)", home, error)


def restore_indexes(
    parts: IndexParts, settings: CollectionSettingsLike
) -> tuple[FaissVectorIndex | None, Bm25Index, dict[int, str]]:
    """The dense index, the BM25 index and each row's document, as they were when the snapshot was saved."""
    rowid_list = parts.rowids.tolist()
    dense = None
    if parts.vectors is not None:
        dense = FaissVectorIndex.from_parts(
            parts.rowids,
            parts.vectors,
            parts.faiss_index,
            cells_trained_on=parts.cells_trained_on,
            kind=settings.index_kind,
            exact_up_to=settings.exact_search_up_to,
        )
    lexical = Bm25Index(k1=settings.bm25_k1, b=settings.bm25_b)
    lexical.restore(rowid_list, parts.tokens, parts.lexical)
    return dense, lexical, dict(zip(rowid_list, parts.document_ids, strict=True))


# --- writing ----------------------------------------------------------------------------------------------
def write_snapshot(
    home: Path, parts: IndexParts, *, tag: dict[str, object], after_step: Callable[[str], object] | None = None
) -> Path:
    """Save `parts` as the snapshot of the state in `tag`; returns its directory. `after_step` is for crash tests."""
    if any("\n" in text for text in parts.tokens):
        raise ValueError("a passage's tokens hold a line break; the snapshot stores one passage per line")
    root = home / SNAPSHOT_DIRECTORY
    root.mkdir(parents=True, exist_ok=True)
    name = f"g{state_generation(tag)}-{uuid.uuid4().hex[:12]}"
    with _locked(root, exclusive=True):
        staging = root / f"{_TEMPORARY_PREFIX}{name}"
        staging.mkdir()
        try:
            _write_directory(staging, parts, after_step)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # a full disk, say: leave nothing half-written behind
            raise
        files = {path.name: [path.stat().st_size, crc32_of(path)] for path in sorted(staging.iterdir())}
        fsync_directory(staging)
        os.rename(staging, root / name)
        fsync_directory(root)
        _after(after_step, "directory")
        body = {
            "tag": tag,
            "directory": name,
            "files": files,
            "rows": len(parts.rowids),
            "cells_trained_on": parts.cells_trained_on,
            "lexical_passages": parts.lexical.passages if parts.lexical is not None else None,
            "search": _search_parameters(parts.faiss_index),
        }
        _write_manifest(root, body, after_step)
        _after(after_step, "manifest")
        _remove_all_but(root, keep=name)
    return root / name


def _write_directory(staging: Path, parts: IndexParts, after_step: Callable[[str], object] | None) -> None:
    """Every file of the snapshot, fsynced, in `staging`."""
    import faiss

    arrays: dict[str, np.ndarray] = {
        "rowids.npy": np.asarray(parts.rowids, dtype=np.int64),
        "checksums.npy": np.asarray(parts.checksums, dtype=np.int64),
    }
    numbers: dict[str, int] = {}  # each document id numbered in order of first appearance
    arrays["documents.npy"] = np.fromiter(
        (numbers.setdefault(d, len(numbers)) for d in parts.document_ids), dtype=np.int64, count=len(parts.rowids)
    )
    texts = {"document_ids.json": json.dumps(list(numbers)), "tokens.txt": "\n".join(parts.tokens)}
    if parts.vectors is not None:
        arrays["vectors.npy"] = np.asarray(parts.vectors, dtype=np.float32)
    if parts.lexical is not None:
        arrays["bm25_data.npy"] = parts.lexical.data
        arrays["bm25_indices.npy"] = parts.lexical.indices
        arrays["bm25_indptr.npy"] = parts.lexical.indptr
        arrays["bm25_rowids.npy"] = np.asarray(parts.lexical.rowids, dtype=np.int64)
        texts["bm25_terms.txt"] = "\n".join(parts.lexical.terms)
    for file_name, array in arrays.items():
        np.save(staging / file_name, array, allow_pickle=False)
        _after(after_step, f"file {file_name}")
    for file_name, text in texts.items():
        (staging / file_name).write_bytes(text.encode("utf-8", "surrogateescape"))
        _after(after_step, f"file {file_name}")
    if parts.faiss_index is not None:
        faiss.write_index(parts.faiss_index, str(staging / "dense.faiss"))
        _after(after_step, "file dense.faiss")
    for path in staging.iterdir():
        fsync_file(path)


def _write_manifest(root: Path, body: dict[str, object], after_step: Callable[[str], object] | None) -> None:
    temporary = root / f"{_TEMPORARY_PREFIX}{MANIFEST_NAME}-{uuid.uuid4().hex[:8]}"
    with temporary.open("wb") as file:
        file.write(json.dumps({"body": body, "crc32": _crc32_of_body(body)}, indent=1).encode())
        file.flush()
        os.fsync(file.fileno())
    _after(after_step, "manifest written")
    os.replace(temporary, root / MANIFEST_NAME)
    fsync_directory(root)


def _remove_all_but(root: Path, *, keep: str) -> None:
    """Remove earlier snapshots and leftovers of interrupted writes (the caller holds the exclusive lock)."""
    for path in root.iterdir():
        if path.name in (keep, MANIFEST_NAME, _LOCK_NAME):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# --- reading ----------------------------------------------------------------------------------------------
def load_snapshot(home: Path, *, tag: dict[str, object], state: StoreState) -> IndexParts:
    """The saved indexes when the snapshot was built from exactly `tag` (with `state`) and every file checks out.

    Raises SnapshotUnusable (with the reason) otherwise; the caller rebuilds from the database.
    """
    root = home / SNAPSHOT_DIRECTORY
    if not (root / MANIFEST_NAME).exists():
        raise SnapshotUnusable("there is no index snapshot")
    with _locked(root, exclusive=False):
        body = read_manifest_body(root)
        if body.get("tag") != tag:
            raise SnapshotUnusable(
                f"the index snapshot was built from {describe_tag(body.get('tag'))}, not {describe_tag(tag)}"
            )
        try:
            directory = root / str(body["directory"])
            files: dict[str, list[int]] = body["files"]
            verify_files(directory, files)
            parts = _read_parts(directory, body, files)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as error:
            raise SnapshotUnusable(f"the index snapshot cannot be read ({error})") from error
    check_rows(parts, state)
    return parts


def verify_files(directory: Path, files: dict[str, list[int]]) -> None:
    """Raise SnapshotUnusable unless every file the manifest lists is there with its recorded size and CRC32."""
    for file_name, (size, crc) in files.items():
        path = directory / file_name
        if not path.is_file() or path.stat().st_size != size:
            raise SnapshotUnusable(f"the index snapshot's {file_name} is missing or has the wrong size")
        if crc32_of(path) != crc:
            raise SnapshotUnusable(f"the index snapshot's {file_name} fails its checksum")


def read_manifest_body(root: Path) -> dict[str, Any]:
    """The manifest's contents, checked against its own checksum."""
    try:
        record = json.loads((root / MANIFEST_NAME).read_bytes())
        body = record["body"]
        if not isinstance(body, dict) or _crc32_of_body(body) != record["crc32"]:
            raise SnapshotUnusable("the index snapshot's manifest fails its checksum")
        return body
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SnapshotUnusable(f"the index snapshot's manifest cannot be read ({error})") from error


def _read_parts(directory: Path, body: dict[str, Any], files: dict[str, list[int]]) -> IndexParts:
    import faiss

    rows = int(body["rows"])
    # Memory-mapped: the pages are already cached by the checksum pass, and nothing writes to these arrays.
    rowids = np.load(directory / "rowids.npy", mmap_mode="r")
    checksums = np.load(directory / "checksums.npy", mmap_mode="r")
    names = json.loads((directory / "document_ids.json").read_bytes())
    document_index = np.load(directory / "documents.npy")
    tokens = _read_lines(directory / "tokens.txt")
    if not len(rowids) == len(checksums) == len(document_index) == len(tokens) == rows:
        raise ValueError("the row arrays have different lengths")
    faiss_index = None
    vectors = None
    if "dense.faiss" in files:
        faiss_index = faiss.read_index(str(directory / "dense.faiss"))
        _set_search_parameters(faiss_index, body["search"])
        vectors = np.load(directory / "vectors.npy", mmap_mode="r")
    lexical = None
    if "bm25_terms.txt" in files:
        lexical = BuiltParts(
            data=np.load(directory / "bm25_data.npy", mmap_mode="r"),
            indices=np.load(directory / "bm25_indices.npy", mmap_mode="r"),
            indptr=np.load(directory / "bm25_indptr.npy", mmap_mode="r"),
            passages=int(body["lexical_passages"]),
            terms=_read_lines(directory / "bm25_terms.txt"),
            rowids=np.load(directory / "bm25_rowids.npy", mmap_mode="r"),
        )
    return IndexParts(
        rowids=rowids,
        document_ids=[names[i] for i in document_index.tolist()],
        tokens=tokens,
        checksums=checksums,
        vectors=vectors,
        faiss_index=faiss_index,
        cells_trained_on=int(body["cells_trained_on"]),
        lexical=lexical,
    )


def check_rows(parts: IndexParts, state: StoreState) -> None:
    """Raise SnapshotUnusable unless the snapshot's rows add up to the store manifest's count and digest."""
    manifest = state.manifest
    if manifest is None:
        raise SnapshotUnusable("the store has no manifest to check the index snapshot against")
    if len(parts.rowids) != manifest[1] or int(np.sum(parts.checksums)) != manifest[3]:
        raise SnapshotUnusable("the index snapshot's rows do not add up to the store's manifest")


def _read_lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    return text.split("\n")


def _search_parameters(faiss_index: Any) -> dict[str, int]:
    """The query-time settings FAISS keeps outside its data, restored explicitly on load."""
    import faiss

    if faiss_index is None:
        return {}
    found: dict[str, int] = {}
    if isinstance(faiss_index, faiss.IndexIVF):
        found["nprobe"] = int(faiss_index.nprobe)
    if isinstance(faiss_index, faiss.IndexHNSW):
        found["efSearch"] = int(faiss_index.hnsw.efSearch)
    return found


def _set_search_parameters(faiss_index: Any, parameters: dict[str, int]) -> None:
    import faiss

    if "nprobe" in parameters:
        faiss.extract_index_ivf(faiss_index).nprobe = parameters["nprobe"]
    if "efSearch" in parameters:
        faiss_index.hnsw.efSearch = parameters["efSearch"]


# --- helpers ----------------------------------------------------------------------------------------------
def state_generation(tag: dict[str, object]) -> object:
    """The store generation a tag records (for naming and messages)."""
    store = tag.get("store")
    return store.get("generation") if isinstance(store, dict) else None


def describe_tag(tag: object) -> str:
    if not isinstance(tag, dict):
        return "an unreadable state"
    store = tag.get("store") if isinstance(tag.get("store"), dict) else {}
    assert isinstance(store, dict)
    return f"store {str(store.get('store_id'))[:8]} generation {store.get('generation')} (format {tag.get('format')})"


def _after(after_step: Callable[[str], object] | None, step: str) -> None:
    if after_step is not None:
        after_step(step)


def _crc32_of_body(body: dict[str, Any]) -> int:
    return zlib.crc32(json.dumps(body, sort_keys=True).encode())


def crc32_of(path: Path) -> int:
    """CRC32 of a file's bytes, through a memory map (zlib reads ~4 GB/s and releases the GIL)."""
    with path.open("rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return 0
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return zlib.crc32(mapped)


@contextmanager
def _locked(root: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the snapshot lock: readers share it, a writer (which removes old directories) holds it alone."""
    # Opened for reading (created when missing): a home on a read-only volume can still use its snapshot.
    descriptor = os.open(root / _LOCK_NAME, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # releases the lock
