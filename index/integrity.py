"""Checksums for the store: a CRC32 per document and passage row, and a manifest kept in step by triggers.

SQLite's own checks (`PRAGMA quick_check`) find a torn or truncated B-tree, but not a flipped bit inside a row:
a damaged vector or text would be served as if it were fine. So every row carries a checksum of its content,
computed when it is written, and a one-row manifest holds the row counts and the sum of the checksums,
updated by triggers in the same transaction as the rows. Opening the store verifies them (the rows are read
to build the search indexes anyway); `footnote index check` verifies everything, offsets included.

CRC32 finds accidental damage (every burst of up to 32 flipped bits); it is not a defence against someone who
can write the file and recompute the checksums.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The columns each checksum covers, in order. Changing either list is a schema change.
DOCUMENT_FIELDS = ("id", "title", "date", "source", "path", "text", "content_hash", "ingested_at")
PASSAGE_FIELDS = ("document_id", "ordinal", "start", '"end"', "tokens", "vector")

MANIFEST_SCHEMA = """
CREATE TABLE IF NOT EXISTS manifest (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    documents INTEGER NOT NULL,
    passages INTEGER NOT NULL,
    document_digest INTEGER NOT NULL,
    passage_digest INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS documents_added AFTER INSERT ON documents BEGIN
    UPDATE manifest SET documents = documents + 1, document_digest = document_digest + NEW.checksum WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS documents_removed AFTER DELETE ON documents BEGIN
    UPDATE manifest SET documents = documents - 1, document_digest = document_digest - OLD.checksum WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS documents_changed AFTER UPDATE ON documents BEGIN
    UPDATE manifest SET document_digest = document_digest - OLD.checksum + NEW.checksum WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS passages_added AFTER INSERT ON passages BEGIN
    UPDATE manifest SET passages = passages + 1, passage_digest = passage_digest + NEW.checksum WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS passages_removed AFTER DELETE ON passages BEGIN
    UPDATE manifest SET passages = passages - 1, passage_digest = passage_digest - OLD.checksum WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS passages_changed AFTER UPDATE ON passages BEGIN
    UPDATE manifest SET passage_digest = passage_digest - OLD.checksum + NEW.checksum WHERE id = 1;
END;
"""

# How many problems a report keeps word for word; the rest are counted.
_KEPT_PROBLEMS = 20


def checksum(values: Sequence[object]) -> int:
    """CRC32 of a row's values, each encoded unambiguously (type tag, length, bytes)."""
    crc = 0
    for value in values:
        if value is None:
            encoded, tag = b"", b"N"
        elif isinstance(value, bytes):
            encoded, tag = value, b"B"
        elif isinstance(value, int):
            encoded, tag = str(value).encode(), b"I"
        else:
            encoded, tag = str(value).encode("utf-8", "surrogatepass"), b"S"
        crc = zlib.crc32(tag + len(encoded).to_bytes(8, "little"), crc)
        crc = zlib.crc32(encoded, crc)
    return crc


@dataclass
class IntegrityReport:
    """What a check found: problems (the store must not be served) and notes (worth knowing, harmless)."""

    documents: int = 0
    passages: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more_problems: int = 0
    damaged_documents: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def problem(self, text: str) -> None:
        """Record a problem, keeping the first few word for word."""
        if text in self.problems:
            return
        if len(self.problems) < _KEPT_PROBLEMS:
            self.problems.append(text)
        else:
            self.more_problems += 1

    def summary(self) -> str:
        """The problems on one line."""
        shown = "; ".join(self.problems[:3])
        hidden = max(len(self.problems) - 3, 0) + self.more_problems
        return shown + (f"; and {hidden} more" if hidden > 0 else "")


def decode_text(data: bytes) -> str:
    """SQLite text as str even when damage made it invalid UTF-8 (the checksum then fails, instead of a crash)."""
    return data.decode("utf-8", "surrogateescape")


def schema_statements(script: str) -> list[str]:
    """A schema script cut into statements (a trigger's body holds semicolons, so cut where SQLite says)."""
    statements: list[str] = []
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    return statements


def add_checksums(db: sqlite3.Connection) -> None:
    """Add the checksums and the manifest to a schema-1 store (inside the caller's transaction)."""
    for table, fields in (("documents", DOCUMENT_FIELDS), ("passages", PASSAGE_FIELDS)):
        db.execute(f"ALTER TABLE {table} ADD COLUMN checksum INTEGER NOT NULL DEFAULT 0")
        rows = db.execute(f"SELECT rowid, {', '.join(fields)} FROM {table}").fetchall()
        db.executemany(f"UPDATE {table} SET checksum = ? WHERE rowid = ?", [(checksum(r[1:]), r[0]) for r in rows])
    for statement in schema_statements(MANIFEST_SCHEMA):
        db.execute(statement)
    db.execute(
        """INSERT INTO manifest SELECT 1,
               (SELECT count(*) FROM documents), (SELECT count(*) FROM passages),
               (SELECT coalesce(sum(checksum), 0) FROM documents),
               (SELECT coalesce(sum(checksum), 0) FROM passages)"""
    )


def read_manifest(db: sqlite3.Connection) -> tuple[int, int, int, int] | None:
    """The manifest's (documents, passages, document digest, passage digest), or None when it is missing."""
    try:
        row = db.execute(
            "SELECT documents, passages, document_digest, passage_digest FROM manifest WHERE id = 1"
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


@dataclass(frozen=True)
class StoreState:
    """Which committed state of which store this is: what an index snapshot is tagged with (index/snapshot.py).

    `store_id` is random per database file, `generation` grows with every committed change, and the manifest's
    counts and checksum sums (index/integrity.py) change with any row; all of them equal means the same rows.
    """

    store_id: str
    generation: int
    manifest: tuple[int, int, int, int] | None

    def as_tag(self) -> dict[str, object]:
        """The state as plain values, to compare with a snapshot's record."""
        return {"store_id": self.store_id, "generation": self.generation, "manifest": list(self.manifest or [])}


def read_state(db: sqlite3.Connection) -> StoreState:
    """The store's identity, generation and manifest (call inside a read transaction for one consistent state)."""
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('store_id', 'generation')").fetchall())
    return StoreState(
        store_id=str(meta.get("store_id", "")), generation=int(meta.get("generation", 0)), manifest=read_manifest(db)
    )


def compare_with_manifest(
    report: IntegrityReport,
    manifest: tuple[int, int, int, int] | None,
    *,
    documents: int | None,
    passages: int | None,
    document_digest: int | None,
    passage_digest: int | None,
) -> None:
    """Record a problem for every count or digest that differs from the manifest (None: not checked)."""
    if manifest is None:
        report.problem("the manifest of row counts and checksums is missing")
        return
    for name, found, expected in (
        ("documents", documents, manifest[0]),
        ("passages", passages, manifest[1]),
    ):
        if found is not None and found != expected:
            report.problem(f"{found} {name} stored but the manifest records {expected}")
    for name, found, expected in (
        ("document", document_digest, manifest[2]),
        ("passage", passage_digest, manifest[3]),
    ):
        if found is not None and found != expected:
            report.problem(f"the {name} checksums do not add up to the manifest's digest")


def check_documents(db: sqlite3.Connection, report: IntegrityReport) -> dict[str, int]:
    """Verify every document row's checksum; returns each intact document's text length."""
    columns = ", ".join(DOCUMENT_FIELDS)
    lengths: dict[str, int] = {}
    digest = count = 0
    for row in db.execute(f"SELECT {columns}, checksum FROM documents"):
        count += 1
        digest += int(row[-1])
        if checksum(row[:-1]) != row[-1]:
            report.damaged_documents.add(str(row[0]))
            report.problem(f"document {row[0]!r} fails its checksum")
        else:
            lengths[str(row[0])] = len(row[5])
    report.documents = count
    compare_with_manifest(
        report, read_manifest(db), documents=count, passages=None, document_digest=digest, passage_digest=None
    )
    return lengths


def verify_passage_rows(rows: Iterable[Sequence[object]], report: IntegrityReport) -> tuple[int, int]:
    """Verify passage rows shaped (rowid, *PASSAGE_FIELDS, checksum); returns their count and checksum sum."""
    count = digest = 0
    for row in rows:
        count += 1
        stored = int(row[-1])  # type: ignore[call-overload]
        digest += stored
        if checksum(row[1:-1]) != stored:
            report.damaged_documents.add(str(row[1]))
            report.problem(f"passage row {row[0]} of document {row[1]!r} fails its checksum")
    return count, digest


def check_passages(
    db: sqlite3.Connection, report: IntegrityReport, lengths: dict[str, int], *, dimension: int | None = None
) -> dict[int, int]:
    """Verify every passage row: checksum, offsets inside its document, one vector size, ordinals 0..n-1.

    Returns each row's stored checksum by row id (for comparing an index snapshot with the store).
    """
    columns = ", ".join(PASSAGE_FIELDS)
    ordinals: dict[str, list[int]] = {}
    sizes: set[int] = set()
    rows = db.execute(f"SELECT rowid, {columns}, checksum FROM passages ORDER BY document_id, ordinal").fetchall()
    count, digest = verify_passage_rows(rows, report)
    for rowid, document_id, ordinal, start, end, _tokens, vector, _checksum in rows:
        if document_id not in lengths:
            if document_id not in report.damaged_documents:
                report.damaged_documents.add(document_id)
                report.problem(f"passage row {rowid} belongs to a missing document {document_id!r}")
            continue
        if not 0 <= start < end <= lengths[document_id]:
            report.damaged_documents.add(document_id)
            report.problem(f"passage row {rowid} of {document_id!r} has offsets {start}-{end} outside its document")
        sizes.add(len(vector))
        ordinals.setdefault(document_id, []).append(ordinal)
    for document_id, found in ordinals.items():
        if found != list(range(len(found))):
            report.damaged_documents.add(document_id)
            report.problem(f"document {document_id!r} is missing passages (ordinals {found[:5]}...)")
    if dimension is not None:
        sizes.add(dimension * 4)
    if len(sizes) > 1:
        report.problem(f"vectors of different sizes are stored ({sorted(sizes)} bytes)")
    report.passages = count
    compare_with_manifest(
        report, read_manifest(db), documents=None, passages=count, document_digest=None, passage_digest=digest
    )
    return {int(row[0]): int(row[-1]) for row in rows}


# Called with the open database, the report and each passage row's checksum once the store checks out.
AfterCheck = Callable[[sqlite3.Connection, IntegrityReport, dict[int, int]], None]


def check_database(path: Path, *, then: AfterCheck | None = None) -> IntegrityReport:
    """Check a store's file without changing it: SQLite's full check, then every checksum, offset and count.

    `then` adds more checks when the store is intact (index/snapshot_check.py: the index snapshot beside it).
    """
    report = IntegrityReport()
    if not path.exists():
        report.problem(f"{path} does not exist")
        return report
    try:
        db = sqlite3.connect(path, isolation_level=None)
    except sqlite3.DatabaseError as error:
        report.problem(f"the file cannot be opened: {error}")
        return report
    db.text_factory = decode_text
    try:
        db.execute("PRAGMA query_only = ON")
        answer = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
        if answer != ["ok"]:
            report.problem(f"SQLite's integrity check failed: {'; '.join(answer[:3])}")
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is not None and version[0] == "1":
            report.notes.append("schema 1 has no checksums yet: they are added the next time the store is opened")
            report.documents = int(db.execute("SELECT count(*) FROM documents").fetchone()[0])
            report.passages = int(db.execute("SELECT count(*) FROM passages").fetchone()[0])
            return report
        lengths = check_documents(db, report)
        row_checksums = check_passages(db, report, lengths)
        if report.ok and then is not None:
            then(db, report, row_checksums)
    except sqlite3.DatabaseError as error:
        report.problem(f"the file cannot be read: {error}")
    finally:
        db.close()
    return report
