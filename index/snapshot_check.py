"""`footnote index check`: the store's file, then what the index snapshot beside it (index/snapshot.py) would do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from index.integrity import IntegrityReport, StoreState, read_state
from index.integrity import check_database as check_database_file
from index.snapshot import (
    FORMAT,
    MANIFEST_NAME,
    SNAPSHOT_DIRECTORY,
    SnapshotUnusable,
    describe_tag,
    read_manifest_body,
    verify_files,
)


def check_database(path: Path) -> IntegrityReport:
    """Check a store without changing it: its file (every row, see index/integrity.py), then the index snapshot."""

    def check_beside(db: sqlite3.Connection, report: IntegrityReport, row_checksums: dict[int, int]) -> None:
        check_snapshot(path.parent, report, state=read_state(db), row_checksums=row_checksums)

    return check_database_file(path, then=check_beside)


def check_snapshot(home: Path, report: IntegrityReport, *, state: StoreState, row_checksums: dict[int, int]) -> None:
    """Add what `footnote index check` says about the snapshot: a note when it will not be used (the next open
    rebuilds it), a problem when it records the store's current state yet holds other rows (it would be used)."""
    root = home / SNAPSHOT_DIRECTORY
    rebuilt = "the next open rebuilds the indexes from the store and saves it again (`footnote index rebuild` now)"
    if not (root / MANIFEST_NAME).exists():
        return  # none yet (or the Milvus backend): nothing to disagree
    try:
        body = read_manifest_body(root)
        tag = body.get("tag")
        if not isinstance(tag, dict) or tag.get("format") != FORMAT or tag.get("store") != state.as_tag():
            report.notes.append(f"the index snapshot is stale (built from {describe_tag(tag)}): {rebuilt}")
            return
        directory = root / str(body["directory"])
        verify_files(directory, body["files"])
        rowids = np.load(directory / "rowids.npy").tolist()
        checksums = np.load(directory / "checksums.npy").tolist()
    except SnapshotUnusable as reason:
        report.notes.append(f"{reason}, so it is not used: {rebuilt}")
        return
    except (OSError, ValueError, KeyError, TypeError) as error:
        report.notes.append(f"the index snapshot cannot be read ({error}), so it is not used: {rebuilt}")
        return
    if dict(zip(rowids, checksums, strict=True)) != row_checksums:
        report.problem(
            "the index snapshot records the store's current state but holds other passage rows: "
            "run `footnote index rebuild` (it would be used by the next open)"
        )
