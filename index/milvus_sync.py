"""Keeping Milvus a mirror of the SQLite store: full builds, per-write updates, and the comparison `index check` runs.

SQLite stays the source of truth. The writer commits there first, then mirrors the changed documents here; a
crash in between leaves Milvus at the previous published generation, which `compare` reports and `rebuild`
repairs. Rows are read through a read-only connection of our own, inside one transaction, so the rows and the
generation they are published under come from the same snapshot.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from index.integrity import IntegrityReport, decode_text
from index.milvus_lexical import average_length, avgdl_drift, distinct_terms, term_frequency_parts
from index.milvus_state import LIVE, PublishedState, row_key
from index.milvus_store import SWITCH_GRACE_S, MilvusStore

logger = logging.getLogger(__name__)

_ROWS_PER_READ = 1000
# The store's meta entries a mirror must agree with: vectors and tokens from other settings would mix.
MIRRORED_SETTINGS = ("embedding_model", "chunker_version", "chunk_max_words", "chunk_overlap_sentences")


@dataclass(frozen=True)
class SourceRow:
    """One passage as SQLite holds it, with what a search result shows."""

    rowid: int
    document_id: str
    ordinal: int
    start: int
    end: int
    tokens: str
    vector: bytes
    checksum: int
    title: str
    date: str | None
    source: str | None
    text: str


_SELECT = """SELECT p.rowid, p.document_id, p.ordinal, p.start, p."end", p.tokens, p.vector, p.checksum,
                    d.title, d.date, d.source, substr(d.text, p.start + 1, p."end" - p.start)
             FROM passages p JOIN documents d ON d.id = p.document_id"""


class StoreSnapshot:
    """A read-only, consistent view of the SQLite store (one read transaction)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @property
    def generation(self) -> int:
        """The store's generation (every committed change increases it)."""
        return int(self.meta().get("generation", "0"))

    def meta(self) -> dict[str, str]:
        """Every meta entry."""
        return {str(k): str(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def counts(self) -> tuple[int, int]:
        """(documents, passages) stored."""
        documents = int(self._db.execute("SELECT count(*) FROM documents").fetchone()[0])
        passages = int(self._db.execute("SELECT count(*) FROM passages").fetchone()[0])
        return documents, passages

    def rows(self, *, document_ids: Sequence[str] | None = None) -> Iterator[list[SourceRow]]:
        """Every passage (or those of the given documents), a batch at a time, in row-id order."""
        if document_ids is not None:
            for first in range(0, len(document_ids), 500):
                chunk = list(document_ids[first : first + 500])
                marks = ",".join("?" * len(chunk))
                found = self._db.execute(f"{_SELECT} WHERE p.document_id IN ({marks}) ORDER BY p.rowid", chunk)
                yield [SourceRow(*row) for row in found.fetchall()]
            return
        last = -1
        while True:
            found = self._db.execute(f"{_SELECT} WHERE p.rowid > ? ORDER BY p.rowid LIMIT ?", (last, _ROWS_PER_READ))
            batch = [SourceRow(*row) for row in found.fetchall()]
            if not batch:
                return
            yield batch
            last = batch[-1].rowid

    def checksums(self) -> dict[int, int]:
        """Every passage's checksum by row id."""
        return {int(r): int(c) for r, c in self._db.execute("SELECT rowid, checksum FROM passages")}


@contextmanager
def snapshot(path: Path) -> Iterator[StoreSnapshot]:
    """A consistent read-only view of the store at `path`."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    db.text_factory = decode_text
    try:
        db.execute("BEGIN")
        yield StoreSnapshot(db)
        db.execute("COMMIT")
    finally:
        db.close()


def settings_of(meta: dict[str, str], *, k1: float, b: float) -> dict[str, str]:
    """The settings a mirror records and must agree with: the store's, and BM25's (baked into the vectors)."""
    return {**{key: meta.get(key, "") for key in MIRRORED_SETTINGS}, "bm25_k1": str(k1), "bm25_b": str(b)}


class MilvusMirror:
    """Writes the SQLite store's passages into Milvus: whole builds, and the documents each write changed."""

    def __init__(self, milvus: MilvusStore, database: Path, *, k1: float, b: float) -> None:
        self.milvus = milvus
        self.database = database
        self.k1 = k1
        self.b = b

    def rebuild(self, *, dimension: int, on_progress: Callable[[int], object] | None = None) -> PublishedState:
        """Build a fresh copy of the store in new collections, switch readers to it, drop the old ones."""
        previous = self.milvus.state()
        build = previous.build + 1 if previous is not None else 1
        with snapshot(self.database) as store:
            documents, passages = store.counts()
            frequencies: Counter[str] = Counter()
            total_tokens, stored_dimension = 0, 0
            for batch in store.rows():
                for row in batch:
                    frequencies.update(distinct_terms(row.tokens))
                    total_tokens += len(row.tokens.split())
                    stored_dimension = len(row.vector) // 4
            ids = {term: number for number, term in enumerate(sorted(frequencies))}
            state = PublishedState(
                generation=store.generation,
                build=build,
                documents=documents,
                passages=passages,
                total_tokens=total_tokens,
                avgdl=average_length(total_tokens, passages),
                next_term_id=len(ids),
                dimension=stored_dimension or dimension,
                settings=self.settings_for(store),
            )
            self.milvus.create_build(build, dimension=state.dimension)
            self.milvus.write_terms(state, {term: (ids[term], df) for term, df in frequencies.items()})
            for batch in store.rows():
                self.milvus.insert_passages(state, [self._row(state, row, ids) for row in batch])
                if on_progress is not None:
                    on_progress(len(batch))
        self.milvus.load(state)
        self.milvus.publish(state)
        self.milvus.drop_builds_except(build, grace_s=SWITCH_GRACE_S)
        logger.info("Milvus build %d: %d passages of %d documents", build, passages, documents)
        return state

    def mirror(self, document_ids: Sequence[str], state: PublishedState) -> PublishedState:
        """Publish the stored state of the given documents (added, replaced or deleted) as one new generation."""
        self.milvus.delete_unpublished(state)
        with snapshot(self.database) as store:
            generation = store.generation
            documents, passages = store.counts()
            settings = self.settings_for(store)
            new_rows = [row for batch in store.rows(document_ids=document_ids) for row in batch]
        old = self.milvus.rows(state, self.milvus.document_rowids(state, document_ids), ["tokens"])
        changes: Counter[str] = Counter()
        for row in new_rows:
            changes.update(distinct_terms(row.tokens))
        for looked_up in old.values():
            changes.subtract(distinct_terms(str(looked_up["tokens"])))
        new_tokens = sum(len(row.tokens.split()) for row in new_rows)
        old_tokens = sum(len(str(looked_up["tokens"]).split()) for looked_up in old.values())
        if state.passages == 0:
            # The first passages fix the average length the stored vectors use (see index.milvus_lexical).
            state = replace(state, avgdl=average_length(new_tokens, len(new_rows)))
        ids, next_id = self._update_terms(state, changes)
        target = replace(
            state,
            generation=generation,
            documents=documents,
            passages=passages,
            total_tokens=state.total_tokens + new_tokens - old_tokens,
            next_term_id=next_id,
            settings=settings,
            dimension=len(new_rows[0].vector) // 4 if new_rows else state.dimension,
        )
        self.milvus.insert_passages(target, [self._row(target, row, ids) for row in new_rows])
        self.milvus.retire(state, list(old), generation=generation)
        self.milvus.publish(target)
        # Rows this write retired stay one more write: a reader that read the previous state just before the
        # switch still finds them, instead of seeing the document gone for a moment.
        self.milvus.purge(target, retired_by=state.generation)
        return target

    def settings_for(self, store: StoreSnapshot) -> dict[str, str]:
        """What a build of `store` records as its settings."""
        return settings_of(store.meta(), k1=self.k1, b=self.b)

    def compare(self, report: IntegrityReport) -> None:
        """Record every way Milvus differs from the store (see `compare_with_store`)."""
        compare_with_store(self, report)

    def _update_terms(self, state: PublishedState, changes: Counter[str]) -> tuple[dict[str, int], int]:
        """Apply document-frequency changes; returns every touched term's id and the next free id."""
        touched = sorted(term for term, delta in changes.items())
        known = self.milvus.term_entries(state, touched)
        next_id = state.next_term_id
        entries: dict[str, tuple[int, int]] = {}
        for term in touched:
            term_id, df = known.get(term, (-1, 0))
            if term_id < 0:
                term_id, next_id = next_id, next_id + 1
            entries[term] = (term_id, max(df + changes[term], 0))
        changed = {term: entry for term, entry in entries.items() if changes[term] != 0 or term not in known}
        self.milvus.write_terms(state, changed)
        return {term: term_id for term, (term_id, _) in entries.items()}, next_id

    def _row(self, state: PublishedState, row: SourceRow, ids: dict[str, int]) -> dict[str, Any]:
        parts = term_frequency_parts(row.tokens, avgdl=state.avgdl, k1=self.k1, b=self.b)
        return {
            "key": row_key(state.generation, row.rowid),
            "rowid": row.rowid,
            "vector": np.frombuffer(row.vector, dtype=np.float32).tolist(),
            "sparse": {ids[term]: value for term, value in parts.items()},
            "document_id": row.document_id,
            "ordinal": row.ordinal,
            "start": row.start,
            "end": row.end,
            "checksum": row.checksum,
            "generation": state.generation,
            "retired": LIVE,
            "title": row.title,
            "date": row.date,
            "source": row.source,
            "text": row.text,
            "tokens": row.tokens,
        }


def compare_with_store(mirror: MilvusMirror, report: IntegrityReport) -> None:
    """Record every way Milvus differs from the store: generation, settings, rows missing, extra or changed."""
    milvus = mirror.milvus
    state = milvus.state()
    where = f"Milvus ({milvus.settings.uri}, collection {milvus.base})"
    if state is None:
        report.problem(f"{where} holds no published index of this store")
        return
    with snapshot(mirror.database) as store:
        generation, settings = store.generation, mirror.settings_for(store)
        expected = store.checksums()
    if state.generation != generation:
        report.problem(
            f"{where} mirrors generation {state.generation} of the store but the store is at {generation} "
            "(a write was cut short between the store and Milvus)"
        )
    if state.settings != settings:
        report.problem(f"{where} was built with other settings ({state.settings}) than the store's ({settings})")
    found: dict[int, int] = {}
    unpublished = 0
    for row in milvus.scan(state, ["checksum", "generation", "retired"], upto=max(expected, default=0)):
        if int(row["generation"]) > state.generation:
            unpublished += 1
        elif int(row["retired"]) > state.generation:
            found[int(row["rowid"])] = int(row["checksum"])
    if unpublished:
        report.problem(f"{where} holds {unpublished} rows of a write that was never published")
    missing = expected.keys() - found.keys()
    extra = found.keys() - expected.keys()
    changed = [rowid for rowid in expected.keys() & found.keys() if expected[rowid] != found[rowid]]
    if missing:
        report.problem(f"{len(missing)} passages of the store are missing from {where}")
    if extra:
        report.problem(f"{len(extra)} passages deleted from the store are still in {where}")
    if changed:
        report.problem(f"{len(changed)} passages differ between the store and {where}")
    if len(found) != state.passages:
        report.problem(f"{where} shows {len(found)} passages but its state records {state.passages}")
    drift = avgdl_drift(state.avgdl, state.total_tokens, state.passages)
    if drift > 0.05:
        report.notes.append(
            f"Milvus's BM25 vectors use an average passage length {drift:.0%} off today's: lexical scores differ "
            "slightly from the embedded index's until `footnote index rebuild`"
        )
