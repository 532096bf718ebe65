"""A collection whose searches go to Milvus: the writer keeps SQLite and mirrors every change; replicas keep nothing.

`Retriever` (and the service) call the same methods on it as on the embedded `Collection`: dense and lexical
candidates, term statistics, vectors and passages. Fusion, relevance feedback and MMR stay Footnote's own code on
top. A replica (`writer=None`) holds no state of its own: every call reads Milvus's published state, so any
number of replicas behind a load balancer answer alike, and a change the writer acknowledged is seen by all.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.collection import Collection, CollectionSettings, IngestResult, IngestStatus, PrepareBatches
from index.documents import Document, Passage
from index.embedding import Embedder, Vectors
from index.errors import IndexOutOfSyncError, ReadOnlyReplicaError, StoreMismatchError
from index.integrity import IntegrityReport
from index.milvus_lexical import query_weights
from index.milvus_state import MilvusSettings, PublishedState
from index.milvus_store import PASSAGE_FIELDS, MilvusStore, vectors_of
from index.milvus_sync import MilvusMirror, snapshot
from index.store import DATABASE_NAME, DocumentSummary, StoredPassage
from index.vector_index import RowIds, Scores

logger = logging.getLogger(__name__)

_EMPTY: tuple[RowIds, Scores] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
REBUILD_HINT = "run `footnote index rebuild` on the writer to rebuild Milvus from the store"


class _StoreOnlyCollection(Collection):
    """The embedded collection without its in-memory indexes: the writer's SQLite side, while Milvus searches."""

    def _load_indexes(self) -> None:
        return None

    def _add_to_indexes(self, rowids: RowIds, document_ids: list[str], tokens: list[str], vectors: Vectors) -> None:
        return None


class MilvusCollection(Collection):
    """Searches in Milvus; documents (on the writer only) in SQLite, mirrored to Milvus after every commit."""

    def __init__(
        self,
        home: Path,
        *,
        embedder: Embedder,
        milvus: MilvusSettings,
        settings: CollectionSettings | None = None,
        read_only: bool = False,
        allow_settings_mismatch: bool = False,
    ) -> None:
        # Collection.__init__ is not called: it opens SQLite, which a replica must not.
        self.home = home
        self.embedder = embedder
        self.settings = settings or CollectionSettings()
        self.milvus = MilvusStore(milvus)
        self._write_lock = threading.Lock()
        self._writer: Collection | None = None
        self._mirror: MilvusMirror | None = None
        if read_only:
            return
        try:
            self._writer = _StoreOnlyCollection(
                home, embedder=embedder, settings=self.settings, allow_settings_mismatch=allow_settings_mismatch
            )
            self.store = self._writer.store
            self._mirror = MilvusMirror(
                self.milvus, home / DATABASE_NAME, k1=self.settings.bm25_k1, b=self.settings.bm25_b
            )
            self._open_writer(allow_out_of_sync=allow_settings_mismatch)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the store (on the writer) and the Milvus connection."""
        if self._writer is not None:
            self._writer.close()
        self.milvus.close()

    @property
    def read_only(self) -> bool:
        """True on a replica: it answers questions but cannot change documents."""
        return self._writer is None

    # --- reads ----------------------------------------------------------------------------------------
    def get_document(self, document_id: str) -> Document:
        """A stored document with its canonical text (the writer holds the documents)."""
        return self._require_writer().get_document(document_id)

    def list_documents(self, *, offset: int = 0, limit: int | None = None) -> list[DocumentSummary]:
        """Stored documents without their text, ordered by id (the writer holds the documents)."""
        return self._require_writer().list_documents(offset=offset, limit=limit)

    def count_documents(self) -> int:
        """How many documents the published index holds."""
        state = self._state()
        return state.documents if state else 0

    def count_passages(self) -> int:
        """How many passages the published index holds."""
        state = self._state()
        return state.passages if state else 0

    def count_vectors(self) -> int:
        """How many passage rows Milvus shows (equal to `count_passages` in a healthy index)."""
        state = self._state()
        return self.milvus.count_rows(state) if state is not None else 0

    def dense_search(self, query_vector: Vectors, n: int) -> tuple[RowIds, Scores]:
        """The passages nearest the query vector, with exact inner products."""
        state = self._state()
        if state is None or state.passages == 0:
            return _EMPTY
        return self.milvus.dense_search(state, query_vector, n)

    def lexical_search(self, weighted_terms: Mapping[str, float], n: int) -> tuple[RowIds, Scores]:
        """The passages that best match weighted query terms by BM25 (idf applied on the query side)."""
        state = self._state()
        if state is None or state.passages == 0 or not weighted_terms:
            return _EMPTY
        entries = self.milvus.term_entries(state, sorted(weighted_terms))
        weights = query_weights(
            weighted_terms, {term: df for term, (_, df) in entries.items()}, passages=state.passages
        )
        return self.milvus.sparse_search(state, {entries[term][0]: w for term, w in weights.items()}, n)

    def term_frequencies(self, rowids: RowIds) -> list[Counter[str]]:
        """The lexical term counts of the given passages, in order (empty for a passage gone meanwhile)."""
        state = self._state()
        rows = self.milvus.rows(state, rowids.tolist(), ["tokens"]) if state else {}
        return [Counter(str(rows[r]["tokens"]).split()) if r in rows else Counter() for r in rowids.tolist()]

    def term_statistics(self, terms: list[str]) -> tuple[dict[str, int], int]:
        """Document frequency of each lexical term across passages, and the passage count (for IDF)."""
        state = self._state()
        if state is None:
            return dict.fromkeys(terms, 0), 0
        entries = self.milvus.term_entries(state, sorted(set(terms)))
        return {term: entries[term][1] if term in entries else 0 for term in terms}, state.passages

    def document_ids(self, rowids: Sequence[int]) -> dict[int, str]:
        """The document of each passage row id still visible."""
        state = self._state()
        rows = self.milvus.rows(state, list(rowids), ["document_id"]) if state else {}
        return {rowid: str(row["document_id"]) for rowid, row in rows.items()}

    def passage_vectors(self, rowids: RowIds) -> Vectors:
        """The vectors of the given passages, in order (zero for a passage gone meanwhile)."""
        state = self._state()
        if state is None:
            return np.zeros((len(rowids), 1), dtype=np.float32)
        return vectors_of(self.milvus.rows(state, rowids.tolist(), ["vector"]), rowids, state.dimension)

    def get_passages(self, rowids: Sequence[int]) -> dict[int, StoredPassage]:
        """Passages by row id with their documents' metadata, from Milvus alone; ids gone meanwhile are absent."""
        state = self._state()
        rows = self.milvus.rows(state, list(rowids), PASSAGE_FIELDS) if state else {}
        return {rowid: _stored_passage(row) for rowid, row in rows.items()}

    # --- writes (the writer only) ---------------------------------------------------------------------
    def ingest(
        self,
        documents: Sequence[Document],
        *,
        on_progress: Callable[[int], object] | None = None,
        prepare: PrepareBatches | None = None,
    ) -> list[IngestResult]:
        """Store documents in SQLite (`prepare` as for `Collection.ingest`), then publish them in Milvus as one
        generation: each becomes searchable whole, on every replica, when this returns."""
        writer = self._require_writer()
        with self._write_lock:
            state = self._in_sync_state(writer)
            results = writer.ingest(documents, on_progress=on_progress, prepare=prepare)
            self._publish([r.document_id for r in results if r.status != IngestStatus.UNCHANGED], state)
        return results

    def delete(self, document_id: str) -> None:
        """Delete a document from SQLite, then from Milvus; it leaves every replica's searches at once."""
        writer = self._require_writer()
        with self._write_lock:
            state = self._in_sync_state(writer)
            writer.delete(document_id)
            self._publish([document_id], state)

    def sync_index(self) -> int:
        """Rebuild Milvus from the store as it is (no re-chunking); returns the passage count."""
        self._require_writer()
        assert self._mirror is not None
        with self._write_lock:
            return self._mirror.rebuild(dimension=self.embedder.dimension).passages

    def rebuild(self, *, on_progress: Callable[[int], object] | None = None) -> int:
        """Re-index the store (as the embedded collection does), then rebuild Milvus from it; returns passages."""
        writer = self._require_writer()
        assert self._mirror is not None
        with self._write_lock:
            writer.rebuild(on_progress=on_progress)
            state = self._mirror.rebuild(dimension=self.embedder.dimension)
        return state.passages

    def check(self) -> IntegrityReport:
        """Compare Milvus with the store: generation, settings and every passage's checksum."""
        self._require_writer()
        assert self._mirror is not None
        report = IntegrityReport()
        self._mirror.compare(report)
        return report

    # --- internals ------------------------------------------------------------------------------------
    def _open_writer(self, *, allow_out_of_sync: bool) -> None:
        assert self._writer is not None and self._mirror is not None
        state = self.milvus.state()
        if state is None:
            logger.info("Milvus holds no index of %s yet: building it from the store", self.home)
            self._mirror.rebuild(dimension=self.embedder.dimension)
            return
        if allow_out_of_sync:
            return
        with snapshot(self.home / DATABASE_NAME) as store:
            generation, settings = store.generation, self._mirror.settings_for(store)
        if state.generation != generation:
            raise IndexOutOfSyncError(
                f"Milvus mirrors generation {state.generation} of {self.home / DATABASE_NAME}, which is at "
                f"{generation} (a write was cut short between the store and Milvus): {REBUILD_HINT}"
            )
        if _records_settings(state) and state.settings != settings:
            changed = ", ".join(
                f"{k}: {state.settings.get(k)!r} -> {v!r}" for k, v in settings.items() if state.settings.get(k) != v
            )
            raise IndexOutOfSyncError(f"Milvus was built with other settings ({changed}): {REBUILD_HINT}")

    def _in_sync_state(self, writer: Collection) -> PublishedState:
        state = self.milvus.state()
        if state is None or state.generation != writer.store.generation:
            raise IndexOutOfSyncError(f"Milvus no longer mirrors the store: {REBUILD_HINT}")
        return state

    def _publish(self, document_ids: list[str], state: PublishedState) -> None:
        if not document_ids:
            return
        assert self._mirror is not None
        try:
            self._mirror.mirror(sorted(set(document_ids)), state)
        except Exception as error:
            # The store has the change; Milvus may have part of it, unpublished. Readers keep the last published
            # generation, and the writer refuses further changes until a rebuild (see `_in_sync_state`).
            raise IndexOutOfSyncError(
                f"the store changed but Milvus could not follow ({error}): {REBUILD_HINT}"
            ) from error

    def _state(self) -> PublishedState | None:
        state = self.milvus.state()
        model = state.settings.get("embedding_model", "") if state is not None else ""
        if model not in ("", self.embedder.name):
            raise StoreMismatchError(
                f"Milvus holds vectors of {model!r} but this process embeds questions "
                f"with {self.embedder.name!r}: set FOOTNOTE_EMBEDDING_MODEL to match the writer"
            )
        return state

    def _require_writer(self) -> Collection:
        if self._writer is None:
            raise ReadOnlyReplicaError(
                "this is a read-only replica (FOOTNOTE_READ_ONLY): documents are read and changed on the writer"
            )
        return self._writer


def _records_settings(state: PublishedState) -> bool:
    """Whether the published state records the store's settings (an empty store records none yet)."""
    return any(state.settings.values())


def _stored_passage(row: Mapping[str, Any]) -> StoredPassage:
    passage = Passage(
        document_id=str(row["document_id"]),
        ordinal=int(row["ordinal"]),
        start=int(row["start"]),
        end=int(row["end"]),
        text=str(row["text"]),
    )
    return StoredPassage(
        rowid=int(row["rowid"]), passage=passage, title=str(row["title"]), date=row["date"], source=row["source"]
    )
