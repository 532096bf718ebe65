"""The durable store: documents, passages, their vectors and lexical tokens in one SQLite database.

SQLite is the single source of truth. A document, its passages and their vectors are written in one
transaction, so after a crash the store holds each document whole or not at all, and the search indexes,
which are rebuilt from it in memory, can never disagree with the metadata. Every row carries a checksum and a
manifest holds the counts and digests (see `index.integrity`), so damage is found on open and never served.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.documents import Document, Passage
from index.embedding import Vectors
from index.errors import DocumentNotFoundError, FootnoteError, StoreCorruptError, StoreMismatchError
from index.integrity import (
    DOCUMENT_FIELDS,
    MANIFEST_SCHEMA,
    PASSAGE_FIELDS,
    IntegrityReport,
    StoreState,
    add_checksums,
    check_documents,
    checksum,
    compare_with_manifest,
    decode_text,
    read_state,
    schema_statements,
    verify_passage_rows,
)

# 2: a checksum per document and passage row, and the manifest (stores of version 1 are migrated on open).
SCHEMA_VERSION = "2"
DATABASE_NAME = "footnote.db"
logger = logging.getLogger(__name__)
REPAIR_HINT = (
    "it will not be served. `footnote index check` lists every problem; `footnote index rebuild` rebuilds the "
    "store from the intact documents and keeps the damaged file as a backup"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    date TEXT,
    source TEXT,
    path TEXT,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    checksum INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    rowid INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    tokens TEXT NOT NULL,
    checksum INTEGER NOT NULL,
    vector BLOB NOT NULL,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS passages_by_document ON passages(document_id);
"""


@dataclass(frozen=True)
class DocumentSummary:
    """A stored document without its text, for listings."""

    id: str
    title: str
    date: str | None
    source: str | None
    path: str | None
    passages: int
    characters: int
    ingested_at: str


@dataclass(frozen=True)
class StoredPassage:
    """A passage as stored, with its document's metadata for display."""

    rowid: int
    passage: Passage
    title: str
    date: str | None
    source: str | None


@dataclass(frozen=True)
class PreparedDocument:
    """A document with its passages already embedded and tokenised, ready to be written in one transaction."""

    document: Document
    passages: Sequence[Passage]
    tokens: Sequence[str]
    vectors: Vectors


@dataclass(frozen=True)
class IndexedPassageRows:
    """Every stored passage's row id, tokens and vector, for building the in-memory search indexes."""

    rowids: np.ndarray
    document_ids: list[str]
    tokens: list[str]
    vectors: Vectors
    # Each row's stored checksum, and the store's state these rows were read in (one read transaction).
    checksums: np.ndarray
    state: StoreState


class DocumentStore:
    """SQLite-backed storage of documents and passages; every write is one durable transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.text_factory = decode_text
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL makes each commit durable before we acknowledge it, not only consistent.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._check_integrity()
            self._ensure_schema()
            self._verify_documents()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise StoreCorruptError(f"{path}: the store cannot be read ({error}); {REPAIR_HINT}") from error
        except FootnoteError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database; further calls fail."""
        with self._lock:
            self._db.close()

    # --- metadata -------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value recorded with the store, such as the embedding model it was built with."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, values: dict[str, str]) -> None:
        """Record values with the store, in one transaction."""
        with self._lock, self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())

    @property
    def generation(self) -> int:
        """A counter that every committed change increases, so caches can tell they are stale."""
        return int(self.get_meta("generation") or 0)

    def state(self) -> StoreState:
        """The store's identity, generation and manifest, read in one transaction (three small reads)."""
        try:
            with self._lock, self._read_transaction():
                return read_state(self._db)
        except sqlite3.DatabaseError as error:
            raise StoreCorruptError(f"{self.path}: the store cannot be read ({error}); {REPAIR_HINT}") from error

    # --- reads ----------------------------------------------------------------------------------------
    def content_hash(self, document_id: str) -> str | None:
        """The stored content hash of a document, or None when it is not stored."""
        with self._lock:
            row = self._db.execute("SELECT content_hash FROM documents WHERE id = ?", (document_id,)).fetchone()
        return None if row is None else str(row[0])

    def get_document(self, document_id: str) -> Document:
        """The stored document with its canonical text."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(DOCUMENT_FIELDS)}, checksum FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id {document_id!r}")
        if checksum(row[:-1]) != row[-1]:
            raise StoreCorruptError(f"{self.path}: document {document_id!r} fails its checksum; {REPAIR_HINT}")
        return Document(id=row[0], title=row[1], date=row[2], source=row[3], path=row[4], text=row[5])

    def list_documents(self, *, offset: int = 0, limit: int | None = None) -> list[DocumentSummary]:
        """Stored documents ordered by id, without their text."""
        with self._lock:
            rows = self._db.execute(
                """SELECT d.id, d.title, d.date, d.source, d.path, length(d.text), d.ingested_at,
                          (SELECT count(*) FROM passages p WHERE p.document_id = d.id)
                   FROM documents d ORDER BY d.id LIMIT ? OFFSET ?""",
                (-1 if limit is None else limit, offset),
            ).fetchall()
        return [
            DocumentSummary(
                id=r[0], title=r[1], date=r[2], source=r[3], path=r[4], characters=r[5], ingested_at=r[6], passages=r[7]
            )
            for r in rows
        ]

    def count_documents(self) -> int:
        """How many documents are stored."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM documents").fetchone()[0])

    def count_passages(self) -> int:
        """How many passages are stored."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def get_passages(self, rowids: Sequence[int]) -> dict[int, StoredPassage]:
        """Passages by row id, with their text cut from the document's canonical text.

        Each row is checked against its checksum here: an open from an index snapshot does not read every
        passage row, so a row damaged since would otherwise be served with wrong offsets.
        """
        if not rowids:
            return {}
        found: dict[int, StoredPassage] = {}
        with self._lock:
            # SQLite limits bound parameters per statement, so look them up in slices.
            for first in range(0, len(rowids), 500):
                chunk = list(rowids[first : first + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"""SELECT p.rowid, {", ".join(f"p.{name}" for name in PASSAGE_FIELDS)}, p.checksum,
                               substr(d.text, p.start + 1, p."end" - p.start), d.title, d.date, d.source
                        FROM passages p JOIN documents d ON d.id = p.document_id
                        WHERE p.rowid IN ({marks})""",
                    chunk,
                ).fetchall()
                for r in rows:
                    if checksum(r[1:7]) != r[7]:
                        raise StoreCorruptError(
                            f"{self.path} is damaged: passage row {r[0]} of document {r[1]!r} fails its checksum; "
                            f"{REPAIR_HINT}"
                        )
                    passage = Passage(document_id=r[1], ordinal=r[2], start=r[3], end=r[4], text=r[8])
                    found[r[0]] = StoredPassage(rowid=r[0], passage=passage, title=r[9], date=r[10], source=r[11])
        return found

    def read_index_rows(self) -> IndexedPassageRows:
        """Every passage's row id, tokens and vector, in row-id order, each verified against its checksum."""
        try:
            with self._lock, self._read_transaction():
                rows = self._db.execute(
                    f"SELECT rowid, {', '.join(PASSAGE_FIELDS)}, checksum FROM passages ORDER BY rowid"
                ).fetchall()
                state = read_state(self._db)
        except sqlite3.DatabaseError as error:
            raise StoreCorruptError(f"{self.path}: the passages cannot be read ({error}); {REPAIR_HINT}") from error
        report = IntegrityReport()
        count, digest = verify_passage_rows(rows, report)
        compare_with_manifest(
            report, state.manifest, documents=None, passages=count, document_digest=None, passage_digest=digest
        )
        if len({len(r[6]) for r in rows}) > 1:
            report.problem("vectors of different sizes are stored")
        if not report.ok:
            raise StoreCorruptError(f"{self.path} is damaged: {report.summary()}; {REPAIR_HINT}")
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if rows:
            vectors = np.vstack([np.frombuffer(r[6], dtype=np.float32) for r in rows])
        else:
            vectors = np.zeros((0, 0), dtype=np.float32)
        return IndexedPassageRows(
            rowids=rowids,
            document_ids=[r[1] for r in rows],
            tokens=[r[5] for r in rows],
            vectors=vectors,
            checksums=np.fromiter((r[7] for r in rows), dtype=np.int64, count=len(rows)),
            state=state,
        )

    def iter_documents(self) -> Iterator[Document]:
        """Every stored document, for re-chunking and re-embedding the whole store."""
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM documents ORDER BY id").fetchall()]
        for document_id in ids:
            yield self.get_document(document_id)

    # --- writes ---------------------------------------------------------------------------------------
    def write_documents(self, prepared: Sequence[PreparedDocument]) -> dict[str, list[int]]:
        """Replace or add documents with their passages in one transaction; returns new row ids per document."""
        written: dict[str, list[int]] = {}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._transaction():
            for item in prepared:
                doc = item.document
                self._db.execute("DELETE FROM documents WHERE id = ?", (doc.id,))
                values = (doc.id, doc.title, doc.date, doc.source, doc.path, doc.text, doc.content_hash, now)
                self._db.execute(
                    f"INSERT INTO documents ({', '.join(DOCUMENT_FIELDS)}, checksum) VALUES ({', '.join('?' * 9)})",
                    (*values, checksum(values)),
                )
                written[doc.id] = self._insert_passages(item)
            self._bump_generation()
        return written

    def delete_document(self, document_id: str) -> list[int]:
        """Delete a document and its passages; returns the row ids of the passages removed."""
        with self._lock, self._transaction():
            rowids = [
                int(r[0])
                for r in self._db.execute("SELECT rowid FROM passages WHERE document_id = ?", (document_id,)).fetchall()
            ]
            deleted = self._db.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount
            if deleted == 0:
                raise DocumentNotFoundError(f"no document with id {document_id!r}")
            self._bump_generation()
        return rowids

    def passage_rowids(self, document_id: str) -> list[int]:
        """The row ids of a stored document's passages (empty when it is not stored)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid FROM passages WHERE document_id = ? ORDER BY ordinal", (document_id,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def replace_tokens(self, tokens: dict[int, str], meta: dict[str, str]) -> None:
        """Re-tokenise passages in place (vectors untouched), with the settings that produced the tokens."""
        with self._lock, self._transaction():
            changed = []
            for rowid, text in tokens.items():
                row = self._db.execute(
                    f"SELECT {', '.join(PASSAGE_FIELDS)} FROM passages WHERE rowid = ?", (rowid,)
                ).fetchone()
                changed.append((text, checksum((*row[:4], text, row[5])), rowid))
            self._db.executemany("UPDATE passages SET tokens = ?, checksum = ? WHERE rowid = ?", changed)
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
            self._bump_generation()

    def replace_all_passages(self, prepared: Sequence[PreparedDocument], meta: dict[str, str]) -> None:
        """Re-chunk and re-embed the whole store at once: passages and settings change together or not at all."""
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM passages")
            for item in prepared:
                self._insert_passages(item)
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
            self._bump_generation()

    # --- internals ------------------------------------------------------------------------------------
    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _read_transaction(self) -> _Transaction:
        # A deferred BEGIN: the reads inside see one committed state, and writers in other processes go on.
        return _Transaction(self._db, begin="BEGIN")

    def _insert_passages(self, item: PreparedDocument) -> list[int]:
        rowids: list[int] = []
        for passage, tokens, vector in zip(item.passages, item.tokens, item.vectors, strict=True):
            values = (
                item.document.id,
                int(passage.ordinal),
                int(passage.start),
                int(passage.end),
                tokens,
                vector.astype(np.float32).tobytes(),
            )
            cursor = self._db.execute(
                f"INSERT INTO passages ({', '.join(PASSAGE_FIELDS)}, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*values, checksum(values)),
            )
            rowids.append(int(cursor.lastrowid or 0))
        return rowids

    def _bump_generation(self) -> None:
        self._db.execute(
            """INSERT INTO meta (key, value) VALUES ('generation', '1')
               ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"""
        )

    def _check_integrity(self) -> None:
        # The full check, not quick_check: only it compares every index with its table, and a damaged index
        # would silently hide a document's passages from the lookups that use it.
        result = self._db.execute("PRAGMA integrity_check(1)").fetchone()
        if result is None or result[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {result[0] if result else 'no answer'}")

    def _ensure_schema(self) -> None:
        """Create a new store, migrate a version-1 store, or accept a current one; each in one transaction."""
        with self._lock, self._transaction():
            if self._has_table("meta"):
                version = self.get_meta("schema_version")
            else:
                version = None
            if version is None and not self._has_table("documents"):
                for statement in schema_statements(_SCHEMA + MANIFEST_SCHEMA):
                    self._db.execute(statement)
                self._db.execute("INSERT INTO manifest VALUES (1, 0, 0, 0, 0)")
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                self._db.execute("INSERT INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
            elif version is None:
                raise StoreCorruptError(f"{self.path} is damaged: its schema version is missing; {REPAIR_HINT}")
            elif version == "1":
                logger.info("%s: adding checksums to a schema-1 store", self.path)
                add_checksums(self._db)
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
            elif version != SCHEMA_VERSION:
                raise StoreMismatchError(
                    f"{self.path}: store schema {version} is not supported by this Footnote "
                    f"(it reads schema {SCHEMA_VERSION}); use the Footnote that wrote it"
                )
            # Stores made before index snapshots get their identity now (the same transaction, no generation).
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))

    def _verify_documents(self) -> None:
        report = IntegrityReport()
        with self._lock:
            check_documents(self._db, report)
        if not report.ok:
            raise StoreCorruptError(f"{self.path} is damaged: {report.summary()}; {REPAIR_HINT}")

    def _has_table(self, name: str) -> bool:
        row = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        return row is not None


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception, so a write is whole or absent."""

    def __init__(self, db: sqlite3.Connection, *, begin: str = "BEGIN IMMEDIATE") -> None:
        self._db = db
        self._begin = begin

    def __enter__(self) -> None:
        self._db.execute(self._begin)

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
