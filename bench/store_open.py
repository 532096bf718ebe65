"""How long opening a store takes at 1e5 passages: SQLite's check, the checksum verification, the indexes.

Writes a synthetic store straight through the storage layer (random unit vectors of 384 dimensions, 120-word
passages, ten per document), then opens it as a collection a few times and reports the median: cold (no index
snapshot: the indexes are rebuilt from the rows, then saved as the snapshot; the saving on its own too) and
from a valid snapshot (index/snapshot.py), with the part spent in the store's own open (integrity check,
schema, document checksums) and in reading the passage rows (passage checksums included). Only uses APIs that
predate the checksums, so the very same script measures the commit before them (its "cold" is then every open):

    python -m bench.store_open --passages 100000 --json bench/out/store_open.json
    git archive <commit> | tar -x -C /tmp/before && cp bench/store_open.py /tmp/before/bench/ \\
        && (cd /tmp/before && python -m bench.store_open --passages 100000)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from index import Collection, Document, Passage
from index.store import DATABASE_NAME, DocumentStore, PreparedDocument

_WORDS_PER_PASSAGE = 120
_PASSAGES_PER_DOCUMENT = 10
_DIMENSION = 384


class _NoEmbedder:
    """Opening a store embeds nothing; only the name is recorded."""

    name = "store-open-bench"
    dimension = _DIMENSION

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("opening a store must not embed")

    def embed_query(self, text: str) -> np.ndarray:
        raise AssertionError("opening a store must not embed")


def build_store(home: Path, passages: int, *, seed: int = 3) -> float:
    """Write a synthetic store of `passages` passages; returns the seconds it took."""
    rng = np.random.default_rng(seed)
    vocabulary = np.asarray([f"w{number}" for number in range(30_000)])
    store = DocumentStore(home / DATABASE_NAME)
    started = time.perf_counter()
    documents = passages // _PASSAGES_PER_DOCUMENT
    for first in range(0, documents, 200):
        batch = []
        for number in range(first, min(first + 200, documents)):
            words = vocabulary[rng.zipf(1.3, _WORDS_PER_PASSAGE * _PASSAGES_PER_DOCUMENT) % len(vocabulary)]
            chunks = [" ".join(words[i : i + _WORDS_PER_PASSAGE]) for i in range(0, len(words), _WORDS_PER_PASSAGE)]
            text = " ".join(chunks)
            cuts, start = [], 0
            for ordinal, chunk in enumerate(chunks):
                cuts.append(Passage(f"doc{number}", ordinal, start, start + len(chunk), chunk))
                start += len(chunk) + 1
            vectors = rng.standard_normal((len(chunks), _DIMENSION)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            document = Document(id=f"doc{number}", title=f"Document {number}", text=text)
            batch.append(PreparedDocument(document, cuts, chunks, vectors))
        store.write_documents(batch)
    store.close()
    return time.perf_counter() - started


def time_open(home: Path, repeats: int) -> dict[str, float]:
    """Median seconds to open the collection cold and from a snapshot, and to open the store and read its rows."""
    whole, from_snapshot, saving, store_open, rows = [], [], [], [], []
    for _ in range(repeats):
        shutil.rmtree(home / "index", ignore_errors=True)  # no snapshot: rebuilt from the rows, then saved
        with _timed_saves() as saves:
            started = time.perf_counter()
            collection = Collection(home, embedder=_NoEmbedder(), allow_settings_mismatch=True)
            whole.append(time.perf_counter() - started)
        saving.extend(saves)
        passages = collection.count_passages()
        collection.close()
        if saves:  # a Footnote with snapshots: open again from the one just saved
            started = time.perf_counter()
            collection = Collection(home, embedder=_NoEmbedder(), allow_settings_mismatch=True)
            from_snapshot.append(time.perf_counter() - started)
            if collection.indexes_from != "snapshot" or collection.count_passages() != passages:
                raise AssertionError("the second open did not use the snapshot")
            collection.close()
        started = time.perf_counter()
        store = DocumentStore(home / DATABASE_NAME)
        store_open.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.read_index_rows()
        rows.append(time.perf_counter() - started)
        store.close()
    snapshot_figures = (
        {
            "snapshot_open_s": round(statistics.median(from_snapshot), 2),
            "snapshot_save_s": round(statistics.median(saving), 2),
            "snapshot_mb": round(sum(f.stat().st_size for f in (home / "index").rglob("*") if f.is_file()) / 1e6, 1),
        }
        if from_snapshot
        else {}
    )
    return {
        "passages": passages,
        "collection_open_s": round(statistics.median(whole), 2),
        **snapshot_figures,
        "store_open_s": round(statistics.median(store_open), 2),
        "read_rows_s": round(statistics.median(rows), 2),
    }


@contextmanager
def _timed_saves() -> Iterator[list[float]]:
    """Seconds spent saving index snapshots meanwhile (nothing on a Footnote without them)."""
    import index.collection as collection_module

    seconds: list[float] = []
    save = getattr(collection_module, "save_indexes", None)
    if save is None:
        yield seconds
        return

    def timed(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        save(*args, **kwargs)
        seconds.append(time.perf_counter() - started)

    collection_module.save_indexes = timed  # type: ignore[attr-defined]
    try:
        yield seconds
    finally:
        collection_module.save_indexes = save  # type: ignore[attr-defined]


def time_verification(home: Path) -> dict[str, float]:
    """The checksum verification's parts on their own (empty before the checksums existed)."""
    try:
        from index.integrity import IntegrityReport, check_documents, verify_passage_rows
    except ImportError:
        return {}
    import sqlite3

    db = sqlite3.connect(home / DATABASE_NAME)
    figures: dict[str, float] = {}
    for name, statement in (("quick_check_s", "PRAGMA quick_check"), ("integrity_check_s", "PRAGMA integrity_check")):
        started = time.perf_counter()
        db.execute(statement).fetchall()
        figures[name] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    check_documents(db, IntegrityReport())
    figures["document_checksums_s"] = round(time.perf_counter() - started, 2)
    rows = db.execute(
        'SELECT rowid, document_id, ordinal, start, "end", tokens, vector, checksum FROM passages'
    ).fetchall()
    started = time.perf_counter()
    verify_passage_rows(rows, IntegrityReport())
    figures["passage_checksums_s"] = round(time.perf_counter() - started, 2)
    db.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    from harness.provenance import commit, machine

    with tempfile.TemporaryDirectory(prefix="footnote-store-open-") as scratch:
        home = Path(scratch)
        built = build_store(home, args.passages)
        size = (home / DATABASE_NAME).stat().st_size
        figures = time_open(home, args.repeats)
        figures.update(time_verification(home))
    record = {
        "benchmark": "store_open",
        "commit": commit(),
        "machine": machine(),
        "settings": {"passages": args.passages, "dimension": _DIMENSION, "repeats": args.repeats},
        "figures": {**figures, "build_s": round(built, 1), "database_mb": round(size / 1e6, 1)},
    }
    print(json.dumps(record, indent=2))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
