"""Repair a damaged store: keep a copy of it, read every row that can still be read and whose checksum holds,
and re-index the intact documents into a fresh store that replaces the damaged one.

Vectors are reused for passages that are intact and cut the same way as now (the embedding model unchanged),
so repairing a large store re-embeds only what was lost. Nothing the user had is deleted: the damaged files
stay in a `damaged-<time>/` folder next to the store.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.collection import Collection, CollectionSettings, passage_index_text
from index.documents import Document, Passage
from index.durable import fsync_directory
from index.embedding import Embedder, Vectors
from index.integrity import DOCUMENT_FIELDS, PASSAGE_FIELDS, checksum, decode_text
from index.reusing_embedder import ReusingEmbedder
from index.store import DATABASE_NAME

logger = logging.getLogger(__name__)

_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class SalvageReport:
    """What a repair recovered and where the damaged store was kept."""

    backup: Path
    recovered: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    unreadable_rows: int = 0
    reused_vectors: int = 0
    embedded_passages: int = 0
    passages: int = 0


def salvage_store(
    home: Path,
    *,
    embedder: Embedder,
    settings: CollectionSettings | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> SalvageReport:
    """Rebuild the store in `home` from what can still be read of it; the damaged files are kept as a backup."""
    database = home / DATABASE_NAME
    backup = home / f"damaged-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
    backup.mkdir(parents=True, exist_ok=False)
    for suffix in ("", *_SIDE_FILES):
        source = Path(f"{database}{suffix}")
        if source.exists():
            shutil.copy2(source, backup / source.name)
    report = SalvageReport(backup=backup)
    staging = home / f"rebuilding-{backup.name}"
    staging.mkdir()
    # Read a scratch copy, so neither SQLite (a WAL recovery, say) nor the padding below touch the backup.
    source = staging / "damaged.db"
    for suffix in ("", "-wal"):
        if (backup / f"{DATABASE_NAME}{suffix}").exists():
            shutil.copyfile(backup / f"{DATABASE_NAME}{suffix}", f"{source}{suffix}")
    _pad_truncated(source)
    documents, vectors, model = _read_what_survives(source, report)
    report.recovered = sorted(doc.id for doc in documents)
    reusing = ReusingEmbedder(embedder, vectors if model == embedder.name else {})
    collection = Collection(staging, embedder=reusing, settings=settings)
    try:
        collection.ingest(documents, on_progress=on_progress)
        report.passages = collection.count_passages()
    finally:
        collection.close()
    report.reused_vectors, report.embedded_passages = reusing.reused, reusing.embedded
    for suffix in _SIDE_FILES:  # the damaged store's journal must not be replayed into the new one
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.replace(staging / DATABASE_NAME, database)
    fsync_directory(home)
    shutil.rmtree(staging, ignore_errors=True)
    logger.info("rebuilt %s: %d documents recovered, %d lost", database, len(report.recovered), len(report.lost))
    return report


def _pad_truncated(path: Path) -> None:
    """Give a truncated file back the length its header records: SQLite refuses it whole otherwise."""
    with path.open("r+b") as file:
        header = file.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            return
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        size = file.seek(0, os.SEEK_END)
        if 0 < page_size * pages <= 1 << 40 and size < page_size * pages:
            file.truncate(page_size * pages)


def _read_what_survives(path: Path, report: SalvageReport) -> tuple[list[Document], dict[str, Vectors], str | None]:
    """Intact documents, the vectors of their intact passages keyed by the text embedded, and the model name."""
    try:
        db = sqlite3.connect(path, isolation_level=None)
        db.text_factory = decode_text
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        logger.warning("%s cannot be opened at all (%s): nothing to recover", path, error)
        report.unreadable_rows += 1
        return [], {}, None
    try:
        model = _meta(db, "embedding_model")
        has_checksums = _has_column(db, "documents", "checksum")
        documents: dict[str, Document] = {}
        seen: set[str] = set()
        fields = ", ".join((*DOCUMENT_FIELDS, "checksum") if has_checksums else DOCUMENT_FIELDS)
        for row in _rows(db, "documents", fields, report):
            seen.add(str(row[0]))
            if not all(isinstance(value, str) for value in (row[0], row[1], row[5])):
                continue
            document = Document(id=row[0], title=row[1], date=row[2], source=row[3], path=row[4], text=row[5])
            intact = checksum(row[:8]) == row[8] if has_checksums else document.content_hash == row[6]
            if intact:
                documents[document.id] = document
        vectors: dict[str, Vectors] = {}
        fields = ", ".join((*PASSAGE_FIELDS, "checksum") if has_checksums else PASSAGE_FIELDS)
        for row in _rows(db, "passages", fields, report):
            if (has_checksums and checksum(row[:6]) != row[6]) or not _passage_shaped(row):
                continue
            seen.add(row[0])  # a document whose passages survive existed, even if its own row did not
            owner = documents.get(row[0])
            start, end = row[2], row[3]
            if owner is not None and 0 <= start < end <= len(owner.text):
                passage = Passage(owner.id, row[1], start, end, owner.text[start:end])
                vectors[passage_index_text(owner.title, passage)] = np.frombuffer(row[5], dtype=np.float32)
        report.lost = sorted(seen - set(documents))
        return list(documents.values()), vectors, model
    finally:
        db.close()


def _rows(db: sqlite3.Connection, table: str, fields: str, report: SalvageReport) -> Iterator[tuple[Any, ...]]:
    """Every readable row: scan forwards to the damage, backwards from the end to it, then probe in between."""
    query = f"SELECT rowid, {fields} FROM {table}"
    forwards: list[int] = []
    try:
        for row in db.execute(f"{query} ORDER BY rowid"):
            forwards.append(row[0])
            yield tuple(row[1:])
        return  # the whole table read in one pass
    except sqlite3.DatabaseError:
        report.unreadable_rows += 1
    low = max(forwards, default=0)
    backwards: list[int] = []
    try:
        for row in db.execute(f"{query} WHERE rowid > ? ORDER BY rowid DESC", (low,)):
            backwards.append(row[0])
            yield tuple(row[1:])
        return  # read back down to where the forward scan stopped
    except sqlite3.DatabaseError:
        report.unreadable_rows += 1
    high = min(backwards, default=None)
    if high is None:
        return
    # Rows between the two scans may still be reachable one at a time.
    for rowid in range(low + 1, min(high, low + 100_000)):
        try:
            row = db.execute(f"{query} WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            report.unreadable_rows += 1
            continue
        if row is not None:
            yield tuple(row[1:])


def _passage_shaped(row: tuple[Any, ...]) -> bool:
    types = (str, int, int, int, str, bytes)
    return all(isinstance(value, kind) for value, kind in zip(row, types, strict=False)) and len(row[5]) % 4 == 0


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def _has_column(db: sqlite3.Connection, table: str, column: str) -> bool:
    try:
        return any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})"))
    except sqlite3.DatabaseError:
        return False
