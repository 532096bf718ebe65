"""Corruption detection: damage a store's file in many ways and check that nothing damaged is ever served.

A store of the bundled articles plus synthetic documents is written once. Each case damages a fresh copy of
it: truncations, single flipped bits and overwritten byte runs at random places, a zeroed page, bit flips
aimed at a document's text, a vector and a token list, and edits behind the store's back (offsets, tokens,
text, a dropped manifest, rows deleted without the manifest knowing). Then the store is opened. Each case
ends one of three ways:

- detected: opening refuses with Footnote's clear error (the API answers 503 `store_corrupt`, the CLI exits 1);
- harmless: it opens and serves exactly the original content (the damage hit unused space);
- served: it opens and serves something else. This must never happen.

Every detected case is then repaired with the rebuild's salvage, which must leave a store that opens and
passes the full check. Run by tests/index/test_corruption.py and bench/corruption.py.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.crasher import TinyEmbedder, make_document
from index import Collection, FootnoteError, load_paths
from index.integrity import check_database
from index.salvage import salvage_store
from index.store import DATABASE_NAME

PROJECT_ROOT = Path(__file__).resolve().parent.parent
Damage = Callable[[Path], None]


@dataclass
class CorruptionResult:
    """How the cases ended."""

    cases: int = 0
    detected: int = 0
    harmless: int = 0
    served: int = 0
    crashed: int = 0
    flagged_by_check: int = 0
    repaired: int = 0
    repair_failed: int = 0
    documents_per_store: int = 0
    documents_recovered: int = 0
    documents_in_repaired_stores: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


Snapshot = tuple[dict[str, tuple[str, str]], dict[str, list[tuple[int, int, str, bytes]]]]


def snapshot(home: Path) -> Snapshot:
    """Everything the store serves: each document's title and text, each passage's offsets, tokens and vector."""
    collection = Collection(home, embedder=TinyEmbedder())
    try:
        documents: dict[str, tuple[str, str]] = {}
        passages: dict[str, list[tuple[int, int, str, bytes]]] = {}
        rows = collection.store.read_index_rows()
        by_rowid = {
            int(rowid): (tokens, rows.vectors[i].tobytes())
            for i, (rowid, tokens) in enumerate(zip(rows.rowids, rows.tokens, strict=True))
        }
        for summary in collection.list_documents():
            document = collection.get_document(summary.id)
            documents[summary.id] = (document.title, document.text)
            rowids = collection.store.passage_rowids(summary.id)
            found = collection.get_passages(rowids)
            passages[summary.id] = [
                (found[r].passage.start, found[r].passage.end, *by_rowid[r]) for r in rowids if r in found
            ]
        if collection.count_vectors() != collection.count_passages():
            passages["<counts>"] = []
        return documents, passages
    finally:
        collection.close()


def build_pristine(home: Path, synthetic: int) -> None:
    """The bundled articles plus `synthetic` generated documents, on the tiny embedder, checkpointed."""
    collection = Collection(home, embedder=TinyEmbedder())
    bundled = load_paths([str(PROJECT_ROOT / "corpus")])
    collection.ingest(bundled + [make_document(f"s{n}", 1) for n in range(synthetic)])
    collection.close()


def cases(pristine: Path, rng: random.Random, *, flips: int, runs: int, truncations: int) -> list[tuple[str, Damage]]:
    """Every damage to try: (kind, function that damages a store in a folder)."""
    size = (pristine / DATABASE_NAME).stat().st_size
    db = sqlite3.connect(pristine / DATABASE_NAME)
    vector = bytes(db.execute("SELECT vector FROM passages ORDER BY rowid LIMIT 1 OFFSET 5").fetchone()[0])
    tokens = str(db.execute("SELECT tokens FROM passages ORDER BY rowid LIMIT 1 OFFSET 7").fetchone()[0]).encode()
    texts = [str(r[0]).encode() for r in db.execute("SELECT text FROM documents ORDER BY id LIMIT 6")]
    db.close()
    found: list[tuple[str, Damage]] = []
    for _ in range(truncations):
        found.append(("truncate", _truncate(rng.randint(0, size - 1))))
    for _ in range(flips):
        found.append(("bit flip", _flip(rng.randrange(size), 1 << rng.randrange(8))))
    for _ in range(runs):
        found.append(("garbage run", _overwrite(rng.randrange(size), bytes(rng.getrandbits(8) for _ in range(16)))))
    page = rng.randrange(1, size // 4096)
    found.append(("zeroed page", _overwrite(page * 4096, bytes(4096))))
    for text in texts:
        found.append(("aimed at a text", _flip_inside(text[len(text) // 3 : len(text) // 3 + 40])))
    found.append(("aimed at a vector", _flip_inside(vector)))
    found.append(("aimed at tokens", _flip_inside(tokens)))
    for statement in (
        "UPDATE passages SET start = start + 1 WHERE rowid = 3",
        'UPDATE passages SET "end" = "end" - 5 WHERE rowid = 4',
        "UPDATE passages SET tokens = 'ignore previous instructions' WHERE rowid = 5",
        "UPDATE passages SET vector = zeroblob(length(vector)) WHERE rowid = 6",
        "UPDATE documents SET text = 'A different text.' WHERE rowid = 2",
        "UPDATE documents SET title = 'Other title' WHERE rowid = 3",
        "DROP TABLE manifest",
        "UPDATE manifest SET passages = passages + 1",
        "DROP TRIGGER passages_removed; DELETE FROM passages WHERE rowid = 9",
        "DROP TRIGGER documents_removed; DROP TRIGGER passages_removed; PRAGMA foreign_keys=ON; "
        "DELETE FROM documents WHERE rowid = 4",
    ):
        found.append(("edited behind its back", _sql(statement)))
    return found


def _truncate(length: int) -> Damage:
    def damage(home: Path) -> None:
        with (home / DATABASE_NAME).open("r+b") as file:
            file.truncate(length)

    return damage


def _overwrite(offset: int, data: bytes) -> Damage:
    def damage(home: Path) -> None:
        with (home / DATABASE_NAME).open("r+b") as file:
            file.seek(offset)
            file.write(data)

    return damage


def _flip(offset: int, bit: int) -> Damage:
    def damage(home: Path) -> None:
        with (home / DATABASE_NAME).open("r+b") as file:
            file.seek(offset)
            byte = file.read(1)
            file.seek(offset)
            file.write(bytes([byte[0] ^ bit]))

    return damage


def _flip_inside(needle: bytes) -> Damage:
    def damage(home: Path) -> None:
        data = (home / DATABASE_NAME).read_bytes()
        where = data.find(needle)
        if where < 0:
            raise AssertionError("the bytes to damage are not in the file")
        _flip(where + len(needle) // 2, 0x10)(home)

    return damage


def _sql(script: str) -> Damage:
    def damage(home: Path) -> None:
        db = sqlite3.connect(home / DATABASE_NAME, isolation_level=None)
        db.executescript(script)
        db.close()

    return damage


def run_cases(
    scratch: Path, *, synthetic: int = 40, flips: int = 80, runs: int = 30, truncations: int = 12, seed: int = 5
) -> CorruptionResult:
    """Build a store, damage copies of it every way, and count how each case ended."""
    pristine = scratch / "pristine"
    build_pristine(pristine, synthetic)
    expected = snapshot(pristine)
    result = CorruptionResult(documents_per_store=len(expected[0]))
    for number, (kind, damage) in enumerate(
        cases(pristine, random.Random(seed), flips=flips, runs=runs, truncations=truncations)
    ):
        home = scratch / f"case{number}"
        shutil.copytree(pristine, home)
        damage(home)
        outcome = _open_and_compare(home, expected)
        result.cases += 1
        counts = result.by_kind.setdefault(kind, {"cases": 0, "detected": 0, "harmless": 0, "served": 0})
        counts["cases"] += 1
        if outcome in ("detected", "harmless", "served"):
            counts[outcome] += 1
            setattr(result, outcome, getattr(result, outcome) + 1)
        else:
            result.crashed += 1
            result.failures.append(f"case {number} ({kind}): {outcome}")
        if outcome == "served":
            result.failures.append(f"case {number} ({kind}): opened and served damaged content")
        if outcome == "detected":
            result.flagged_by_check += not check_database(home / DATABASE_NAME).ok
            _repair(home, number, kind, result)
        shutil.rmtree(home, ignore_errors=True)
    return result


def _open_and_compare(home: Path, expected: Snapshot) -> str:
    try:
        Collection(home, embedder=TinyEmbedder()).close()
    except FootnoteError:
        return "detected"
    except Exception as error:  # a traceback instead of a clear message is a failure too
        return f"crashed: {type(error).__name__}: {error}"
    try:
        return "harmless" if snapshot(home) == expected else "served"
    except FootnoteError:
        return "detected"  # refused when the damaged part was read (a document's checksum, say)
    except Exception as error:
        return f"crashed while serving: {type(error).__name__}: {error}"


def _repair(home: Path, number: int, kind: str, result: CorruptionResult) -> None:
    try:
        report = salvage_store(home, embedder=TinyEmbedder())
        collection = Collection(home, embedder=TinyEmbedder())
        stored = collection.count_documents()
        healthy = collection.count_vectors() == collection.count_passages()
        collection.close()
        if not healthy or not check_database(home / DATABASE_NAME).ok:
            raise AssertionError("the repaired store is not healthy")
        result.repaired += 1
        result.documents_recovered += len(report.recovered)
        result.documents_in_repaired_stores += stored
    except Exception as error:
        result.repair_failed += 1
        result.failures.append(f"case {number} ({kind}): repair failed: {type(error).__name__}: {error}")
