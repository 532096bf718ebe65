"""Crash safety of the store, in the spirit of Qdrant's crasher: `kill -9` a writer at random moments.

A child process (`python -m harness.crasher`) adds, replaces and deletes documents one at a time, printing
`BEGIN` before each change and `ACK` only after the change has been committed. `run_kills` kills it with
SIGKILL at a random moment, reopens the store and checks that it loads, that the vector count equals the
passage count, that every acknowledged change is there (each document present is whole and findable by its own
distinctive words, its passages' offsets reproducing its text), and that the one change in flight, if any, is
either fully there or fully absent. Then it starts a new child on the same store, and again.

The child embeds with a tiny deterministic embedder so that a kill costs about a process start; the write
path (chunking, SQLite transactions, checksums, in-memory indexes) is the real one. With `real_model` the
child embeds with the real model. Run by tests/index/test_crash_safety.py and bench/crasher.py.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import DEFAULT_EMBEDDING_MODEL, Collection, Document, Embedder, Retriever, chunk_document, get_embedder
from index.embedding import Vectors
from index.lexical_index import query_terms

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_WORD = re.compile(r"\w+")
_VOCABULARY = (
    "harbour council budget river bridge school winter election market railway hospital festival drought "
    "museum factory treaty garden tunnel library airport storm orchard mine ferry forest strike vaccine"
).split()


class TinyEmbedder:
    """Hashes words into 32 buckets: deterministic, instant, and close vectors for texts sharing words."""

    name = "crasher-tiny-embedder"
    dimension = 32

    def embed_passages(self, texts: list[str]) -> Vectors:
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, 32), np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self._vector(text).reshape(1, -1)

    def _vector(self, text: str) -> Vectors:
        vector = np.zeros(32, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            vector[hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % 32] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else np.eye(1, 32, dtype=np.float32)[0]


def make_embedder(real_model: bool) -> Embedder:
    """The child's and the checker's embedder: the same on both sides, or the store would not open."""
    return get_embedder(DEFAULT_EMBEDDING_MODEL) if real_model else TinyEmbedder()


def marker(document_id: str, version: int) -> str:
    """A word that only this version of this document contains."""
    return f"zq{document_id}v{version}"


def make_document(document_id: str, version: int) -> Document:
    """The deterministic text of a document version: 10-50 sentences, one to five passages."""
    rng = random.Random(f"{document_id}/{version}")
    sentences = []
    for number in range(rng.randint(10, 50)):
        words = " ".join(rng.choice(_VOCABULARY) for _ in range(rng.randint(4, 12)))
        sentences.append(f"Sentence {number} about {words} mentions {marker(document_id, version)}.")
    return Document(id=document_id, title=f"{document_id} version {version}", text=" ".join(sentences))


# --- the child: change the store forever, acknowledging each committed change -------------------------------
def run_child(home: Path, first_op: int, seed: int, real_model: bool) -> None:
    """Add (70%), replace (15%) or delete (15%) documents one at a time until killed."""
    import bm25s  # noqa: F401  (loaded now, so each change takes its steady time and kills land inside)
    import faiss  # noqa: F401

    collection = Collection(home, embedder=make_embedder(real_model))
    if real_model:
        collection.embedder.embed_query("warm up")
    versions = {s.id: int(s.title.rsplit(" ", 1)[1]) for s in collection.list_documents()}
    print("READY", flush=True)
    for op in range(first_op, first_op + 1_000_000):
        rng = random.Random(seed * 1_000_003 + op)
        roll = rng.random()
        if roll < 0.7 or len(versions) < 3:
            kind, document_id, version = "add", f"d{op}", 1
        else:
            document_id = rng.choice(sorted(versions))
            kind, version = ("replace", versions[document_id] + 1) if roll < 0.85 else ("delete", 0)
        print(f"BEGIN {op} {kind} {document_id} {version}", flush=True)
        if kind == "delete":
            collection.delete(document_id)
            versions.pop(document_id)
        else:
            collection.ingest([make_document(document_id, version)])
            versions[document_id] = version
        print(f"ACK {op}", flush=True)


# --- the parent: kill, reopen, check --------------------------------------------------------------------------
@dataclass
class CrashStats:
    """What the kills found."""

    kills: int = 0
    survived: int = 0
    acknowledged_changes: int = 0
    killed_mid_change: int = 0
    in_flight_applied: int = 0
    in_flight_absent: int = 0
    killed_before_ready: int = 0
    documents_checked: int = 0
    failures: list[str] = field(default_factory=list)
    final_documents: int = 0
    final_passages: int = 0


@dataclass
class _Pending:
    op: int
    document_id: str
    before: int | None
    after: int | None


def check_store(
    home: Path, expected: dict[str, int], pending: _Pending | None, embedder: Embedder
) -> tuple[list[str], dict[str, int]]:
    """Reopen the store and check it; returns the problems found and the state actually stored."""
    problems: list[str] = []
    try:
        collection = Collection(home, embedder=embedder)
    except Exception as error:  # any failure to open is what this bench is looking for
        return [f"the store did not open: {type(error).__name__}: {error}"], expected
    try:
        stored_count = collection.store.count_passages()
        if not stored_count == collection.count_vectors() == collection.count_passages():
            problems.append(
                f"{stored_count} passages stored, {collection.count_vectors()} vectors, "
                f"{collection.count_passages()} lexical entries"
            )
        actual = {s.id: int(s.title.rsplit(" ", 1)[1]) for s in collection.list_documents()}
        allowed = dict(expected)
        if pending is not None:
            allowed.pop(pending.document_id, None)
            state = actual.get(pending.document_id)
            if state not in (pending.before, pending.after):
                problems.append(
                    f"in-flight change to {pending.document_id} left version {state} "
                    f"(expected {pending.before} or {pending.after})"
                )
        others = {k: v for k, v in actual.items() if pending is None or k != pending.document_id}
        if others != allowed:
            missing = sorted(set(allowed) - set(others))[:5]
            extra = sorted(set(others) - set(allowed))[:5]
            changed = sorted(k for k in set(allowed) & set(others) if allowed[k] != others[k])[:5]
            problems.append(
                f"acknowledged state differs: missing {missing}, unexpected {extra}, other version {changed}"
            )
        retriever = Retriever(collection)
        for document_id, version in actual.items():
            problems.extend(_check_document(collection, retriever, document_id, version))
        return problems, actual
    finally:
        collection.close()


def _check_document(collection: Collection, retriever: Retriever, document_id: str, version: int) -> list[str]:
    expected = make_document(document_id, version)
    stored = collection.get_document(document_id)
    if (stored.text, stored.title) != (expected.text, expected.title):
        return [f"{document_id} v{version}: stored text differs from what was written"]
    rowids = collection.store.passage_rowids(document_id)
    passages = collection.get_passages(rowids)
    chunks = chunk_document(expected, collection.settings.chunking)
    offsets = [(passages[r].passage.start, passages[r].passage.end) for r in rowids if r in passages]
    if offsets != [(c.start, c.end) for c in chunks]:
        return [f"{document_id} v{version}: passages {offsets} do not cover the text as chunked"]
    if any(
        passages[r].passage.text != stored.text[passages[r].passage.start : passages[r].passage.end] for r in rowids
    ):
        return [f"{document_id} v{version}: a passage's offsets do not reproduce its text"]
    word = marker(document_id, version)
    lexical, _ = collection.lexical_search(query_terms(word), 10)
    if not set(lexical.tolist()) & set(rowids):
        return [f"{document_id} v{version}: not found by its own word {word}"]
    found = retriever.search(f"{word} {chunks[0].text}", k=3)
    if not found or found[0].passage.document_id != document_id:
        return [f"{document_id} v{version}: hybrid search for its own text returns {[p.passage.id for p in found]}"]
    return []


def run_kills(
    home: Path, *, kills: int, seed: int = 7, real_model: bool = False, max_seconds: float = 900.0
) -> CrashStats:
    """Kill `kills` children at random moments, checking the store after each; stops early at `max_seconds`."""
    stats = CrashStats()
    rng = random.Random(seed)
    embedder = make_embedder(real_model)
    expected: dict[str, int] = {}
    next_op = 0
    started = time.monotonic()
    while stats.kills < kills and time.monotonic() - started < max_seconds:
        command = [sys.executable, "-m", "harness.crasher", str(home), str(next_op), str(seed)]
        child = subprocess.Popen(
            command + (["--real-model"] if real_model else []),
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        lines: list[str] = []
        if rng.random() < 0.1:  # sometimes kill while the store is still opening
            time.sleep(rng.uniform(0.0, 1.0))
        else:
            # Let it acknowledge a few changes, then kill at a random point of the next one, which lasts about
            # as long as the last one did.
            wanted, acks, began, last = rng.randint(0, 3), 0, 0.0, 0.05
            while acks < wanted or not lines:
                line = child.stdout.readline()
                if not line:
                    break
                lines.append(line.strip())
                if line.startswith("BEGIN"):
                    began = time.monotonic()
                elif line.startswith("ACK"):
                    acks, last = acks + 1, time.monotonic() - began
            if lines[:1] != ["READY"]:
                child.kill()
                child.wait()
                stats.failures.append(f"kill {stats.kills + 1}: the child failed to start ({lines[:1]!r})")
                break
            time.sleep(rng.uniform(0.0, 1.5 * last))
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines += child.stdout.read().splitlines()
        child.stdout.close()
        stats.kills += 1
        if "READY" not in lines:
            stats.killed_before_ready += 1
        pending: _Pending | None = None
        for line in lines:
            parts = line.split()
            if parts[:1] == ["BEGIN"]:
                op, kind, document_id, version = int(parts[1]), parts[2], parts[3], int(parts[4])
                pending = _Pending(op, document_id, expected.get(document_id), None if kind == "delete" else version)
                next_op = op + 1
            elif parts[:1] == ["ACK"] and pending is not None and int(parts[1]) == pending.op:
                _apply(expected, pending)
                stats.acknowledged_changes += 1
                pending = None
        if pending is not None:
            stats.killed_mid_change += 1
        problems, actual = check_store(home, expected, pending, embedder)
        stats.documents_checked += len(actual)
        if pending is not None and not problems:
            applied = actual.get(pending.document_id) == pending.after
            stats.in_flight_applied += applied
            stats.in_flight_absent += not applied
            if applied:
                _apply(expected, pending)
        if problems:
            stats.failures.extend(f"kill {stats.kills}: {p}" for p in problems[:5])
            break  # a damaged store makes every later check meaningless
        stats.survived += 1
    collection = Collection(home, embedder=embedder)
    stats.final_documents, stats.final_passages = collection.count_documents(), collection.count_passages()
    collection.close()
    return stats


def _apply(expected: dict[str, int], change: _Pending) -> None:
    if change.after is None:
        expected.pop(change.document_id, None)
    else:
        expected[change.document_id] = change.after


def _child_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The crasher's child: change a store until killed.")
    parser.add_argument("home", type=Path)
    parser.add_argument("first_op", type=int)
    parser.add_argument("seed", type=int)
    parser.add_argument("--real-model", action="store_true")
    args = parser.parse_args(argv)
    run_child(args.home, args.first_op, args.seed, args.real_model)


if __name__ == "__main__":
    _child_main()
