"""The Milvus side of the index: three collections, what they hold, and the few calls Footnote makes on them.

- `<name>_state`: one row, the published state: which passage and term collections are current, the SQLite
  generation they mirror, the counts, and the BM25 average length their sparse vectors were built with.
- `<name>_passages_<build>`: per passage its dense vector, its BM25 term-frequency vector (see
  `index.milvus_lexical`) and everything a search result shows, so search replicas never open SQLite.
- `<name>_terms_<build>`: per term its sparse-vector id and its document frequency (the query side's idf).

A row is visible when `generation <= published <= retired`: the writer inserts a document's rows with the next
generation, marks the rows they replace as retired from it, then publishes it with one write of the state
row, so a document appears (or changes, or goes) whole, never half. Every read uses Strong consistency:
a replica must see what the writer acknowledged, whichever replica the load balancer picked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from index.embedding import Vectors
from index.errors import IndexUnavailableError
from index.milvus_state import MilvusSettings, PublishedState, connect
from index.vector_index import RowIds, Scores

_CONSISTENCY = "Strong"
_STATE_KEY = "state"
# Milvus caps a VARCHAR at 65,535 bytes; a passage of 1,000 words is about 8 KB.
_TEXT_BYTES = 65_535
# Rows per insert or lookup: a few MB per gRPC message, well under its 64 MB limit.
_BATCH = 500
# As the flat FAISS index does: ask an approximate index for more rows than wanted, then score them exactly.
_SHORTLIST_MARGIN = 0.25
_SHORTLIST_MINIMUM_EXTRA = 16
# IVF_FLAT: lists built and probed (Milvus's usual starting point for about 1e6 rows per segment group).
_IVF_LISTS = 1024
_IVF_PROBES = 32
# How long a rebuild keeps the collections it replaced: longer than any one request takes to read them.
SWITCH_GRACE_S = 5.0
# Milvus refuses a search limit above this, and returns at most this many rows per query.
_MAX_LIMIT = 16_384
# Row ids per query of a full scan: well under the cap even with a retired twin of every row.
_SCAN_WINDOW = 5_000
PASSAGE_FIELDS = ("rowid", "document_id", "ordinal", "start", "end", "title", "date", "source", "text")


def quoted(values: Sequence[str]) -> str:
    """A Milvus filter list of strings (JSON's quoting is the filter language's)."""
    return "[" + ", ".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"


def visible(generation: int) -> str:
    """The filter for rows visible at a published generation."""
    return f"generation <= {generation} and retired > {generation}"


class MilvusStore:
    """One connection to Milvus (a milvus-lite file, or a server or cluster) and Footnote's calls on it."""

    def __init__(self, settings: MilvusSettings) -> None:
        self.settings = settings
        self.base = settings.collection
        self._client = connect(settings)
        self._loaded_build = -1
        self._ensure_state_collection()

    def close(self) -> None:
        """Close the connection."""
        self._client.close()

    # --- the published state ----------------------------------------------------------------------------
    def state(self) -> PublishedState | None:
        """The published state, or None when nothing was ever published."""
        rows = self._call("query", self._state_name, filter=f'key == "{_STATE_KEY}"', output_fields=["value"])
        if not rows:
            return None
        state = PublishedState(**json.loads(rows[0]["value"]))
        if state.build != self._loaded_build:
            self.load(state)  # a new process, or a rebuild switched collections since the last call
        return state

    def publish(self, state: PublishedState) -> None:
        """Make `state` current: one row written, so readers switch to it all at once."""
        row = {"key": _STATE_KEY, "value": json.dumps(asdict(state)), "unused": [0.0, 0.0]}
        self._call("upsert", self._state_name, [row])

    # --- builds ---------------------------------------------------------------------------------------
    def create_build(self, build: int, *, dimension: int) -> None:
        """Create (empty) the passage and term collections of a build, dropping leftovers of the same number."""
        from pymilvus import DataType, MilvusClient

        draft = PublishedState(0, build, 0, 0, 0, 1.0, 0, dimension)
        for name in (draft.passages_name(self.base), draft.terms_name(self.base)):
            if self._client.has_collection(name):
                self._client.drop_collection(name)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        # The key, not the SQLite row id, is primary: SQLite reuses the highest row id once it is deleted, and
        # a replaced row must stay readable (retired) beside its successor until the switch is published.
        schema.add_field("key", DataType.INT64, is_primary=True)
        schema.add_field("rowid", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("document_id", DataType.VARCHAR, max_length=_TEXT_BYTES)
        for name in ("ordinal", "start", "end", "checksum", "generation", "retired"):
            schema.add_field(name, DataType.INT64)
        schema.add_field("title", DataType.VARCHAR, max_length=_TEXT_BYTES)
        schema.add_field("date", DataType.VARCHAR, max_length=_TEXT_BYTES, nullable=True)
        schema.add_field("source", DataType.VARCHAR, max_length=_TEXT_BYTES, nullable=True)
        schema.add_field("text", DataType.VARCHAR, max_length=_TEXT_BYTES)
        schema.add_field("tokens", DataType.VARCHAR, max_length=_TEXT_BYTES)
        index = self._client.prepare_index_params()
        index.add_index(field_name="vector", metric_type="IP", **self._dense_index())
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        self._client.create_collection(
            draft.passages_name(self.base), schema=schema, index_params=index, consistency_level=_CONSISTENCY
        )
        terms = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        terms.add_field("term", DataType.VARCHAR, is_primary=True, max_length=_TEXT_BYTES)
        terms.add_field("term_id", DataType.INT64)
        terms.add_field("df", DataType.INT64)
        terms.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        self._client.create_collection(
            draft.terms_name(self.base),
            schema=terms,
            index_params=_flat_index(self._client, "unused"),
            consistency_level=_CONSISTENCY,
        )

    def drop_builds_except(self, build: int, *, grace_s: float = 0.0) -> None:
        """Drop every passage and term collection but the given build's (after a rebuild switched to it),
        `grace_s` after the switch: a request that read the previous state just before it can finish."""
        keep = {f"{self.base}_passages_{build}", f"{self.base}_terms_{build}"}
        names = [
            name
            for name in self._client.list_collections()
            if name.startswith((f"{self.base}_passages_", f"{self.base}_terms_")) and name not in keep
        ]
        if names:
            time.sleep(grace_s)
        for name in names:
            self._client.drop_collection(name)

    def load(self, state: PublishedState) -> None:
        """Load a build's collections for searching (each process does it once; loading twice is harmless)."""
        for name in (state.passages_name(self.base), state.terms_name(self.base)):
            self._client.load_collection(name)
        self._loaded_build = state.build

    def seal(self, state: PublishedState) -> None:
        """Flush the current build's new rows into sealed segments, where Milvus builds its indexes."""
        self._call("flush", state.passages_name(self.base))

    # --- writes ---------------------------------------------------------------------------------------
    def insert_passages(self, state: PublishedState, rows: Sequence[dict[str, Any]]) -> None:
        """Insert passage rows (invisible until a state with their generation is published)."""
        for first in range(0, len(rows), _BATCH):
            self._call("insert", state.passages_name(self.base), list(rows[first : first + _BATCH]))

    def retire(self, state: PublishedState, rowids: Sequence[int], *, generation: int) -> None:
        """Mark the visible rows among `rowids` as gone from `generation` on; readers of earlier generations
        still see them (an upsert replaces each row in one step, so none is ever missing meanwhile)."""
        name = state.passages_name(self.base)
        for first in range(0, len(rowids), _BATCH):
            chunk = [int(r) for r in rowids[first : first + _BATCH]]
            rows = self._call(
                "query", name, filter=f"rowid in {chunk} and {visible(state.generation)}", output_fields=["*"]
            )
            for row in rows:
                row["retired"] = generation
            if rows:
                self._call("upsert", name, [dict(row) for row in rows])

    def purge(self, state: PublishedState, *, retired_by: int) -> None:
        """Delete rows retired at or before generation `retired_by`, in the current build."""
        self._call("delete", state.passages_name(self.base), filter=f"retired <= {retired_by}")

    def delete_unpublished(self, state: PublishedState) -> None:
        """Delete rows written for a generation that was never published (a write cut short)."""
        self._call("delete", state.passages_name(self.base), filter=f"generation > {state.generation}")

    def term_entries(self, state: PublishedState, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(sparse-vector id, document frequency) of each known term."""
        found: dict[str, tuple[int, int]] = {}
        for first in range(0, len(terms), _BATCH):
            chunk = list(terms[first : first + _BATCH])
            rows = self._call(
                "query",
                state.terms_name(self.base),
                filter=f"term in {quoted(chunk)}",
                output_fields=["term", "term_id", "df"],
            )
            found.update({str(r["term"]): (int(r["term_id"]), int(r["df"])) for r in rows})
        return found

    def write_terms(self, state: PublishedState, entries: Mapping[str, tuple[int, int]]) -> None:
        """Store (sparse-vector id, document frequency) per term."""
        rows = [{"term": t, "term_id": i, "df": df, "unused": [0.0, 0.0]} for t, (i, df) in entries.items()]
        for first in range(0, len(rows), _BATCH):
            self._call("upsert", state.terms_name(self.base), rows[first : first + _BATCH])

    # --- reads ----------------------------------------------------------------------------------------
    def dense_search(self, state: PublishedState, query: Vectors, n: int) -> tuple[RowIds, Scores]:
        """The `n` visible passages nearest the query vector, best first, with exact inner products.

        FLAT is exact; an approximate index returns a shortlist with the vectors, scored here exactly (as
        the flat FAISS index re-scores its half-precision shortlist), so scores never depend on the index.
        """
        vector = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        exact = self.settings.index_type == "FLAT"
        shortlist = n if exact else n + max(_SHORTLIST_MINIMUM_EXTRA, int(n * _SHORTLIST_MARGIN))
        hits = self._search(
            state,
            "vector",
            vector.tolist(),
            min(shortlist, _MAX_LIMIT),
            output_fields=["rowid"] if exact else ["rowid", "vector"],
            params=self._dense_search_params(shortlist),
        )
        rowids = np.asarray([int(h["rowid"]) for h in hits], dtype=np.int64)
        if exact or not hits:
            return rowids, np.asarray([float(h["distance"]) for h in hits], dtype=np.float32)
        vectors = np.asarray([h["vector"] for h in hits], dtype=np.float32)
        scores = np.einsum("ij,j->i", vectors, vector)
        best = np.lexsort((rowids, -scores))[:n]
        return rowids[best], scores[best].astype(np.float32)

    def sparse_search(self, state: PublishedState, query: Mapping[int, float], n: int) -> tuple[RowIds, Scores]:
        """The `n` visible passages with the highest positive inner product with a sparse query, best first."""
        if not query:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        hits = self._search(state, "sparse", dict(query), min(n, _MAX_LIMIT), output_fields=["rowid"], params={})
        kept = [h for h in hits if float(h["distance"]) > 0]
        return (
            np.asarray([int(h["rowid"]) for h in kept], dtype=np.int64),
            np.asarray([float(h["distance"]) for h in kept], dtype=np.float32),
        )

    def rows(self, state: PublishedState, rowids: Sequence[int], fields: Sequence[str]) -> dict[int, dict[str, Any]]:
        """The visible rows among `rowids`, by row id, with the given fields."""
        found: dict[int, dict[str, Any]] = {}
        for first in range(0, len(rowids), _BATCH):
            chunk = [int(r) for r in rowids[first : first + _BATCH]]
            rows = self._call(
                "query",
                state.passages_name(self.base),
                filter=f"rowid in {chunk} and {visible(state.generation)}",
                output_fields=["rowid", *fields],
            )
            found.update({int(r["rowid"]): dict(r) for r in rows})
        return found

    def document_rowids(self, state: PublishedState, document_ids: Sequence[str]) -> list[int]:
        """The visible rows of the given documents."""
        rowids: list[int] = []
        for first in range(0, len(document_ids), _BATCH):
            rows = self._call(
                "query",
                state.passages_name(self.base),
                filter=f"document_id in {quoted(document_ids[first : first + _BATCH])} and {visible(state.generation)}",
                output_fields=["rowid"],
            )
            rowids.extend(int(r["rowid"]) for r in rows)
        return rowids

    def scan(self, state: PublishedState, fields: Sequence[str], *, upto: int) -> Iterator[dict[str, Any]]:
        """Every row of the current build (visible or not) with row ids up to `upto`, then any beyond it.

        By windows of row ids, not a query iterator: milvus-lite lacks the timestamp call an iterator starts with.
        """
        name = state.passages_name(self.base)
        for low in range(0, upto + 1, _SCAN_WINDOW):
            condition = f"rowid >= {low} and rowid < {low + _SCAN_WINDOW}"
            yield from self._call("query", name, filter=condition, output_fields=["rowid", *fields])
        yield from self._call(
            "query", name, filter=f"rowid > {upto}", output_fields=["rowid", *fields], limit=_MAX_LIMIT
        )

    def count_rows(self, state: PublishedState, *, only_visible: bool = True) -> int:
        """How many rows the current build holds (those readers see, or all)."""
        condition = visible(state.generation) if only_visible else "rowid >= 0"
        rows = self._call("query", state.passages_name(self.base), filter=condition, output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    # --- internals ------------------------------------------------------------------------------------
    @property
    def _state_name(self) -> str:
        return f"{self.base}_state"

    def _ensure_state_collection(self) -> None:
        from pymilvus import DataType, MilvusClient

        if not self._client.has_collection(self._state_name):
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("value", DataType.VARCHAR, max_length=_TEXT_BYTES)
            schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
            self._client.create_collection(
                self._state_name,
                schema=schema,
                index_params=_flat_index(self._client, "unused"),
                consistency_level=_CONSISTENCY,
            )
        self._client.load_collection(self._state_name)

    def _dense_index(self) -> dict[str, Any]:
        kind = self.settings.index_type
        if kind.startswith("HNSW"):
            return {
                "index_type": kind,
                "params": {"M": self.settings.hnsw_m, "efConstruction": self.settings.hnsw_ef_construction},
            }
        if kind == "IVF_FLAT":
            return {"index_type": kind, "params": {"nlist": _IVF_LISTS}}
        return {"index_type": kind}

    def _dense_search_params(self, shortlist: int) -> dict[str, Any]:
        """How widely the dense index searches: each type names its breadth differently."""
        kind, breadth = self.settings.index_type, max(self.settings.search_ef, shortlist)
        if kind.startswith("HNSW"):
            return {"ef": breadth}
        if kind == "DISKANN":
            return {"search_list": breadth}
        if kind == "IVF_FLAT":
            return {"nprobe": _IVF_PROBES}
        return {}

    def _search(
        self,
        state: PublishedState,
        field_name: str,
        query: Any,
        limit: int,
        *,
        output_fields: list[str],
        params: dict[str, Any],
    ) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        result = self._call(
            "search",
            state.passages_name(self.base),
            data=[query],
            anns_field=field_name,
            limit=limit,
            filter=visible(state.generation),
            output_fields=output_fields,
            search_params={"metric_type": "IP", "params": params},
        )
        return [{**hit["entity"], "distance": hit["distance"]} for hit in result[0]]

    def _call(self, method: str, name: str, *args: Any, **kwargs: Any) -> Any:
        from pymilvus.exceptions import MilvusException

        if method in ("query", "search"):
            kwargs["consistency_level"] = _CONSISTENCY
        try:
            return getattr(self._client, method)(name, *args, timeout=self.settings.timeout_s, **kwargs)
        except MilvusException as error:
            raise IndexUnavailableError(f"Milvus at {self.settings.uri} failed to {method} {name}: {error}") from error


def _flat_index(client: Any, field_name: str) -> Any:
    index = client.prepare_index_params()
    index.add_index(field_name=field_name, index_type="FLAT", metric_type="IP")
    return index


def vectors_of(rows: Mapping[int, Mapping[str, Any]], rowids: RowIds, dimension: int) -> Vectors:
    """The vectors of `rowids` in order from looked-up rows; a zero vector for a row no longer visible."""
    found = np.zeros((len(rowids), dimension), dtype=np.float32)
    for position, rowid in enumerate(rowids.tolist()):
        row = rows.get(int(rowid))
        if row is not None:
            found[position] = np.asarray(row["vector"], dtype=np.float32)
    return found
