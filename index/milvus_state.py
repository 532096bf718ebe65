"""What the Milvus backend is configured with and what it publishes: settings, the published state, row keys,
and the connection (pymilvus is imported here, lazily, with a clear message when the extra is missing)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from index.errors import IndexUnavailableError, StoreMismatchError

MilvusIndexType = Literal["FLAT", "HNSW", "HNSW_SQ", "IVF_FLAT", "DISKANN"]
# A live row's `retired`: later than any generation.
LIVE = 2**62
# Row ids below 2**34 (1.7e10 passages) and generations below 2**29 fit a signed 64-bit key.
_ROWID_BITS = 34


@dataclass(frozen=True)
class MilvusSettings:
    """Where the Milvus index lives and how its dense vectors are indexed."""

    uri: str
    collection: str = "footnote"
    index_type: MilvusIndexType = "FLAT"
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    search_ef: int = 128
    timeout_s: float = 30.0


@dataclass(frozen=True)
class PublishedState:
    """What readers see: the current build's collections and the SQLite generation they mirror."""

    generation: int
    build: int
    documents: int
    passages: int
    total_tokens: int
    avgdl: float
    next_term_id: int
    dimension: int
    settings: dict[str, str] = field(default_factory=dict)

    def passages_name(self, base: str) -> str:
        """The current passage collection's name."""
        return f"{base}_passages_{self.build}"

    def terms_name(self, base: str) -> str:
        """The current term collection's name."""
        return f"{base}_terms_{self.build}"


def row_key(generation: int, rowid: int) -> int:
    """A passage row's primary key: unique per (generation, row id), since SQLite may reuse a row id."""
    return (generation << _ROWID_BITS) | rowid


def connect(settings: MilvusSettings) -> Any:
    """A pymilvus client for the URI: a `.db` path runs milvus-lite in this process, http(s):// a server."""
    try:
        from pymilvus import MilvusClient
    except ImportError as error:
        raise StoreMismatchError(
            "FOOTNOTE_INDEX_BACKEND=milvus needs the milvus extra: pip install 'footnote[milvus]'"
        ) from error
    uri = settings.uri
    if not uri.startswith(("http://", "https://", "tcp://", "unix:")) and not uri.endswith(".db"):
        raise StoreMismatchError(
            f"FOOTNOTE_MILVUS_URI={uri!r}: give a milvus-lite path ending in .db or an http:// server address"
        )
    if uri.endswith(".db"):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        # milvus-lite serves the folder from a gRPC server inside this process, which lacks the timestamp call
        # pymilvus makes while waiting for a new index (it carries on without): gRPC would log a traceback each time.
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        # A folder locked by another process is reported below, once, instead of as milvus-lite's traceback.
        logging.getLogger("milvus_lite.server_manager").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=uri, timeout=settings.timeout_s)
    except Exception as error:  # milvus-lite raises its own errors for a locked or unreadable folder
        hint = (
            " (is another process using it? One process at a time opens a milvus-lite folder: serve it with "
            "`milvus-lite server --data-dir ...` and give every process its http:// address)"
        )
        message = f"cannot open Milvus at {uri}: {error}{hint if uri.endswith('.db') else ''}"
        raise IndexUnavailableError(message) from error
