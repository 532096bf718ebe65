"""A searchable collection: the durable store plus the in-memory dense and lexical indexes built from it."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from index.chunking import CHUNKER_VERSION, ChunkingSettings, chunk_document
from index.documents import Document, Passage
from index.embedding import Embedder, Vectors
from index.errors import DocumentLoadError, StoreCorruptError, StoreMismatchError
from index.lexical_index import Bm25Index, tokenize, top_n
from index.snapshot import SnapshotUnusable, load_snapshot, restore_indexes, save_indexes, snapshot_tag
from index.store import DATABASE_NAME, DocumentStore, DocumentSummary, PreparedDocument, StoredPassage
from index.vector_index import FaissVectorIndex, IndexKind, RowIds, Scores, build_parameters

logger = logging.getLogger(__name__)

# Turns the batches `Collection.ingest` will write into chunked, embedded ones, one per batch and in order.
PrepareBatches = Callable[[Iterator[list[Document]]], Iterator[list[PreparedDocument]]]

# Passages embedded and committed together: large enough to keep the encoder busy, small enough that a
# crash loses little work and progress reports move.
_PASSAGES_PER_WRITE = 512


class IngestStatus(StrEnum):
    """What ingesting a document did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class IngestResult:
    """The outcome for one document; it is stored once this is returned."""

    document_id: str
    status: IngestStatus
    passages: int


@dataclass(frozen=True)
class CollectionSettings:
    """How documents are cut and indexed; recorded in the store so a mismatch is caught on open."""

    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    index_kind: IndexKind = "flat"
    # Past this many passages the flat index finds its shortlist with an inverted file (exact scores, a few
    # neighbours missed; see index/vector_index.py); None scans every vector at any size.
    exact_search_up_to: int | None = 50_000
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # The title is repeated in each passage's lexical tokens: titles are dense with topic words
    # (3 repeats gained about 0.01 nDCG@10 for BM25 on SciFact's train split).
    lexical_title_repeats: int = 3


def passage_index_text(title: str, passage: Passage) -> str:
    """What is embedded for a passage: its document's title gives it context."""
    return f"{title}\n{passage.text}"


def passage_tokens(title: str, passage: Passage, *, title_repeats: int) -> str:
    """What is stored for BM25: the passage's tokens with the title's tokens repeated before them."""
    return " ".join(tokenize(" ".join([title] * title_repeats + [passage.text])))


class Collection:
    """Documents in a data directory, searchable by meaning and by keyword."""

    def __init__(
        self,
        home: Path,
        *,
        embedder: Embedder,
        settings: CollectionSettings | None = None,
        allow_settings_mismatch: bool = False,
    ) -> None:
        self.home = home
        self.embedder = embedder
        self.settings = settings or CollectionSettings()
        self.store = DocumentStore(home / DATABASE_NAME)
        self._lock = threading.RLock()
        self._dense: FaissVectorIndex | None = None
        self._lexical = Bm25Index(k1=self.settings.bm25_k1, b=self.settings.bm25_b)
        self._document_of: dict[int, str] = {}
        # Where the indexes last came from: "snapshot" (index/snapshot.py) or "database" (rebuilt from the rows).
        self.indexes_from = "database"
        try:
            if not allow_settings_mismatch:
                # Searching vectors from one model with another model's query vector returns nonsense.
                self._check_settings()
            self._load_indexes()
        except BaseException:
            self.store.close()  # a store refused (damaged, or built otherwise) is not left open
            raise

    def close(self) -> None:
        """Release the database."""
        self.store.close()

    # --- reads ----------------------------------------------------------------------------------------
    def get_document(self, document_id: str) -> Document:
        """A stored document with its canonical text."""
        return self.store.get_document(document_id)

    def list_documents(self, *, offset: int = 0, limit: int | None = None) -> list[DocumentSummary]:
        """Stored documents without their text, ordered by id."""
        return self.store.list_documents(offset=offset, limit=limit)

    def count_documents(self) -> int:
        """How many documents are stored."""
        return self.store.count_documents()

    def count_passages(self) -> int:
        """How many passages are indexed."""
        with self._lock:
            return len(self._lexical)

    def count_vectors(self) -> int:
        """How many vectors the dense index holds (equal to `count_passages` in a healthy collection)."""
        with self._lock:
            return self._dense.ntotal if self._dense is not None else 0

    # The two searches take the collection's lock only to read which index is current (a rebuild swaps them) and
    # search outside it, each index guarding itself: a hybrid search runs them side by side (index/retrieval.py).
    def dense_search(self, query_vector: Vectors, n: int) -> tuple[RowIds, Scores]:
        """The passages nearest the query vector."""
        with self._lock:
            dense = self._dense
        if dense is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return dense.search(query_vector, n)

    def lexical_search(self, weighted_terms: Mapping[str, float], n: int) -> tuple[RowIds, Scores]:
        """The passages that best match weighted query terms (see `query_terms`) by BM25."""
        with self._lock:
            lexical = self._lexical
        rowids, scores = lexical.score_all(weighted_terms)
        return top_n(rowids, scores, n)

    def term_frequencies(self, rowids: RowIds) -> list[Counter[str]]:
        """The lexical term counts of the given passages, for relevance feedback."""
        with self._lock:
            return self._lexical.term_frequencies(rowids)

    def term_statistics(self, terms: list[str]) -> tuple[dict[str, int], int]:
        """Document frequency of each lexical term across passages, and the passage count (for IDF)."""
        with self._lock:
            return self._lexical.document_frequencies(terms), len(self._lexical)

    def document_ids(self, rowids: Sequence[int]) -> dict[int, str]:
        """The document of each passage row id still indexed, from memory (no database round trip)."""
        with self._lock:
            return {rowid: self._document_of[rowid] for rowid in rowids if rowid in self._document_of}

    def passage_vectors(self, rowids: RowIds) -> Vectors:
        """The vectors of the given passages, in order."""
        with self._lock:
            if self._dense is None:  # every passage deleted since the search found these
                return np.zeros((len(rowids), 1), dtype=np.float32)
            return self._dense.vectors_for(rowids)

    def get_passages(self, rowids: Sequence[int]) -> dict[int, StoredPassage]:
        """Passages by row id with their documents' metadata; ids deleted meanwhile are simply absent."""
        return self.store.get_passages(rowids)

    # --- writes ---------------------------------------------------------------------------------------
    def ingest(
        self,
        documents: Sequence[Document],
        *,
        on_progress: Callable[[int], object] | None = None,
        prepare: PrepareBatches | None = None,
    ) -> list[IngestResult]:
        """Store and index documents; each goes in whole or not at all, and unchanged ones are skipped.

        `prepare` chunks and embeds the batches to write somewhere else (index/ray_ingest.py: on a Ray cluster),
        yielding one prepared batch per batch, in order; the writes stay here, in the same transactions.
        """
        _reject_duplicate_ids(documents)
        results: list[IngestResult] = []
        batches = self._batches(documents, results, on_progress)
        for prepared in (prepare or self._prepare_batches)(batches):
            results.extend(self._write_prepared(prepared))
            if on_progress is not None:
                on_progress(len(prepared))
        order = {doc.id: position for position, doc in enumerate(documents)}
        return sorted(results, key=lambda result: order[result.document_id])

    def delete(self, document_id: str) -> None:
        """Delete a document and its passages from the store and the indexes."""
        with self._lock:
            removed = np.asarray(self.store.delete_document(document_id), dtype=np.int64)
            self._remove_from_indexes(removed)
        self._lexical.refresh()  # outside the lock: questions go on meanwhile

    def rebuild(self, *, on_progress: Callable[[int], object] | None = None) -> int:
        """Re-index every stored document with the current settings; returns the passage count.

        Only the lexical tokens are redone when the embedding model and chunking are unchanged, so a
        BM25 setting change costs seconds, not a re-embedding of the corpus.
        """
        if not (self._vectors_still_valid() and self._retokenize(on_progress)):
            prepared: list[PreparedDocument] = []
            for document in self.store.iter_documents():
                prepared.append(self._prepare([document])[0])
                if on_progress is not None:
                    on_progress(1)
            with self._lock:
                self.store.replace_all_passages(prepared, self._settings_meta())
        with self._lock:
            self._load_indexes()
            return len(self._lexical)

    # --- internals ------------------------------------------------------------------------------------
    def _batches(
        self, documents: Sequence[Document], results: list[IngestResult], on_progress: Callable[[int], object] | None
    ) -> Iterator[list[Document]]:
        batch: list[Document] = []
        words = 0
        budget = _PASSAGES_PER_WRITE * self.settings.chunking.max_words
        for document in documents:
            if self.store.content_hash(document.id) == document.content_hash:
                passages = len(self.store.passage_rowids(document.id))
                results.append(IngestResult(document.id, IngestStatus.UNCHANGED, passages))
                if on_progress is not None:
                    on_progress(1)
                continue
            batch.append(document)
            words += len(document.text.split())
            if words >= budget:
                yield batch
                batch, words = [], 0
        if batch:
            yield batch

    def _prepare(self, documents: Sequence[Document]) -> list[PreparedDocument]:
        chunked = [(doc, chunk_document(doc, self.settings.chunking)) for doc in documents]
        texts = [passage_index_text(doc.title, p) for doc, passages in chunked for p in passages]
        vectors = self.embedder.embed_passages(texts)
        repeats = self.settings.lexical_title_repeats
        prepared: list[PreparedDocument] = []
        position = 0
        for doc, passages in chunked:
            tokens = [passage_tokens(doc.title, p, title_repeats=repeats) for p in passages]
            prepared.append(PreparedDocument(doc, passages, tokens, vectors[position : position + len(passages)]))
            position += len(passages)
        return prepared

    def _prepare_batches(self, batches: Iterator[list[Document]]) -> Iterator[list[PreparedDocument]]:
        for batch in batches:
            yield self._prepare(batch)

    def _write_prepared(self, prepared: list[PreparedDocument]) -> list[IngestResult]:
        with self._lock:
            previous = {item.document.id: self.store.passage_rowids(item.document.id) for item in prepared}
            if self.store.count_documents() == 0:
                self.store.set_meta(self._settings_meta())
            written = self.store.write_documents(prepared)
            self._remove_from_indexes(np.asarray([r for ids in previous.values() for r in ids], dtype=np.int64))
            # One addition for the whole batch: each one copies every vector held, so adding document by
            # document made a batch cost (documents x collection size).
            if prepared:
                self._add_to_indexes(
                    np.asarray([r for item in prepared for r in written[item.document.id]], dtype=np.int64),
                    [item.document.id for item in prepared for _ in written[item.document.id]],
                    [token for item in prepared for token in item.tokens],
                    np.concatenate([item.vectors for item in prepared]),
                )
        # The lexical index is rebuilt outside the lock: questions go on meanwhile, finding the new passages
        # by meaning at once and by keyword once the rebuilt index is swapped in, before ingest returns.
        self._lexical.refresh()
        return [
            IngestResult(
                item.document.id,
                IngestStatus.UPDATED if previous[item.document.id] else IngestStatus.ADDED,
                len(item.passages),
            )
            for item in prepared
        ]

    def _add_to_indexes(self, rowids: RowIds, document_ids: list[str], tokens: list[str], vectors: Vectors) -> None:
        if len(rowids) == 0:
            return
        self._document_of.update(zip(rowids.tolist(), document_ids, strict=True))
        if self._dense is None:
            self._dense = FaissVectorIndex(
                vectors.shape[1], kind=self.settings.index_kind, exact_up_to=self.settings.exact_search_up_to
            )
        self._dense.add(rowids, vectors)
        self._lexical.add(rowids, tokens)

    def _remove_from_indexes(self, rowids: RowIds) -> None:
        if len(rowids) == 0:
            return
        for rowid in rowids.tolist():
            self._document_of.pop(rowid, None)
        if self._dense is not None:
            self._dense.remove(rowids)
        self._lexical.remove(rowids)

    def _load_indexes(self) -> None:
        state = self.store.state()
        parameters = self._index_parameters()
        tag = snapshot_tag(state, indexes=parameters)
        try:
            parts = load_snapshot(self.home, tag=tag, state=state)
            self._dense, self._lexical, self._document_of = restore_indexes(parts, self.settings)
            self.indexes_from = "snapshot"
        except (SnapshotUnusable, OSError, ValueError) as reason:  # whatever is wrong with it, the rows are right
            logger.info("%s: %s; rebuilding the indexes from the database", self.store.path, reason)
            rows = self.store.read_index_rows()
            self._dense, self._lexical, self._document_of = (
                None,
                Bm25Index(k1=self.settings.bm25_k1, b=self.settings.bm25_b),
                {},
            )
            self._add_to_indexes(rows.rowids, rows.document_ids, rows.tokens, rows.vectors)
            self._lexical.refresh()
            self.indexes_from = "database"
            save_indexes(self.home, rows, self._dense, self._lexical, indexes=parameters)
        stored = self.store.count_passages()
        indexed = self._dense.ntotal if self._dense is not None else 0
        if indexed != stored or len(self._lexical) != stored:
            raise StoreCorruptError(
                f"{self.store.path}: {stored} passages stored but {indexed} vectors indexed; "
                "refusing to serve it: run `footnote index rebuild`"
            )
        logger.info("loaded %d passages from %s (indexes from the %s)", stored, self.store.path, self.indexes_from)

    def _index_parameters(self) -> dict[str, object]:
        dense = build_parameters(kind=self.settings.index_kind, exact_up_to=self.settings.exact_search_up_to)
        return {"dense": dense, "bm25": [self.settings.bm25_k1, self.settings.bm25_b]}

    def _vectors_still_valid(self) -> bool:
        meta = self._settings_meta()
        keys = ("embedding_model", "chunker_version", "chunk_max_words", "chunk_overlap_sentences")
        return all(self.store.get_meta(key) == meta[key] for key in keys)

    def _retokenize(self, on_progress: Callable[[int], object] | None) -> bool:
        """Redo only the lexical tokens; False (and nothing written) when some stored passage differs."""
        tokens: dict[int, str] = {}
        repeats = self.settings.lexical_title_repeats
        for document in self.store.iter_documents():
            passages = chunk_document(document, self.settings.chunking)
            rowids = self.store.passage_rowids(document.id)
            if len(rowids) != len(passages):
                return False
            for rowid, passage in zip(rowids, passages, strict=True):
                tokens[rowid] = passage_tokens(document.title, passage, title_repeats=repeats)
            if on_progress is not None:
                on_progress(1)
        with self._lock:
            self.store.replace_tokens(tokens, self._settings_meta())
        return True

    def _settings_meta(self) -> dict[str, str]:
        chunking = self.settings.chunking
        return {
            "embedding_model": self.embedder.name,
            "chunker_version": CHUNKER_VERSION,
            "chunk_max_words": str(chunking.max_words),
            "chunk_overlap_sentences": str(chunking.overlap_sentences),
            "lexical_title_repeats": str(self.settings.lexical_title_repeats),
        }

    def _check_settings(self) -> None:
        if self.store.count_documents() == 0:
            return
        expected = self._settings_meta()
        differing = {k: (self.store.get_meta(k), v) for k, v in expected.items() if self.store.get_meta(k) != v}
        if differing:
            described = "; ".join(f"{k}: stored {old!r}, configured {new!r}" for k, (old, new) in differing.items())
            raise StoreMismatchError(
                f"{self.store.path} was indexed with other settings ({described}). Restore those settings, "
                "or run `footnote index rebuild` to re-index every stored document with the current ones."
            )


def _reject_duplicate_ids(documents: Sequence[Document]) -> None:
    seen: dict[str, Document] = {}
    for document in documents:
        if document.id in seen:
            first = seen[document.id]
            raise DocumentLoadError(
                f"{document.path}: document id {document.id!r} is also used by {first.path}; "
                "give one of them its own id in its front matter"
            )
        seen[document.id] = document
