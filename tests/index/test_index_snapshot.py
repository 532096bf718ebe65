"""Index snapshots: an open from one searches exactly like a rebuild from the database, and a snapshot that is
stale, from another store, damaged or incomplete is never used."""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import (
    Collection,
    CollectionSettings,
    Document,
    RetrievalSettings,
    Retriever,
    StoreCorruptError,
    check_database,
)
from index.lexical_index import query_terms
from index.retrieval import RetrievalMode
from index.snapshot import MANIFEST_NAME, SNAPSHOT_DIRECTORY, load_snapshot, read_manifest_body, snapshot_tag
from index.store import DATABASE_NAME
from tests.fakes import FakeEmbedder

QUERIES = ["Russia security Afghanistan", "Zhirnov ambassador Kabul", "china trade corridor", "w17 w3 w250"]
MODES: tuple[RetrievalMode, ...] = ("hybrid", "dense", "lexical")


def generated_documents(count: int, *, seed: int = 7) -> list[Document]:
    """Documents of random words from a small vocabulary, so queries share terms with many passages."""
    rng = random.Random(seed)
    words = [f"w{n}" for n in range(400)] + ["security", "Kabul", "trade", "corridor", "Russia"]
    return [
        Document(
            id=f"gen-{number}",
            title=f"Generated {number}",
            text=". ".join(" ".join(rng.choices(words, k=12)).capitalize() for _ in range(rng.randint(3, 30))) + ".",
        )
        for number in range(count)
    ]


def open_collection(home: Path, settings: CollectionSettings | None = None) -> Collection:
    return Collection(home, embedder=FakeEmbedder(), settings=settings)


def results(collection: Collection) -> list[object]:
    """Every search the collection serves, with row ids and scores, for exact comparison."""
    found: list[object] = []
    retriever = Retriever(collection)
    for query in QUERIES:
        for mode in MODES:
            for hit in retriever.search(query, settings=RetrievalSettings(k=20, mode=mode)):
                found.append((query, mode, hit.passage, hit.score, hit.components))
        dense = collection.dense_search(collection.embedder.embed_query(query), 50)
        lexical = collection.lexical_search(query_terms(query), 50)
        found.append((dense[0].tolist(), dense[1].tolist(), lexical[0].tolist(), lexical[1].tolist()))
        found.append(collection.term_frequencies(lexical[0][:5]))
        found.append(collection.passage_vectors(dense[0][:5]).tolist())
        found.append(collection.document_ids(dense[0].tolist()))
    return found


def snapshot_dir(home: Path) -> Path:
    return home / SNAPSHOT_DIRECTORY / str(read_manifest_body(home / SNAPSHOT_DIRECTORY)["directory"])


@pytest.fixture
def store(tmp_path: Path, bundled_documents: list[Document]) -> Path:
    home = tmp_path / "store"
    collection = open_collection(home)
    collection.ingest(bundled_documents + generated_documents(60))
    collection.close()
    open_collection(home).close()  # the first open after the ingest rebuilds the indexes and saves the snapshot
    return home


def reference(home: Path, settings: CollectionSettings | None = None) -> list[object]:
    """The results of indexes rebuilt from the database, in a copy without any snapshot."""
    copy = home.parent / f"reference-{random.randrange(10**9)}"
    copy.mkdir()
    shutil.copy2(home / DATABASE_NAME, copy / DATABASE_NAME)
    collection = open_collection(copy, settings)
    assert collection.indexes_from == "database"
    try:
        return results(collection)
    finally:
        collection.close()
        shutil.rmtree(copy)


def reopen(home: Path, expected_source: str, settings: CollectionSettings | None = None) -> list[object]:
    collection = open_collection(home, settings)
    try:
        assert collection.indexes_from == expected_source
        return results(collection)
    finally:
        collection.close()


@pytest.mark.parametrize(
    "settings",
    [
        CollectionSettings(),
        CollectionSettings(exact_search_up_to=40),  # the inverted file, trained at open
        CollectionSettings(index_kind="hnsw"),
    ],
    ids=["flat", "inverted-file", "hnsw"],
)
def test_an_open_from_the_snapshot_searches_exactly_like_a_rebuild(store: Path, settings: CollectionSettings) -> None:
    shutil.rmtree(store / SNAPSHOT_DIRECTORY)
    rebuilt = reopen(store, "database", settings)  # no snapshot: rebuilt from the rows, then saved
    assert reopen(store, "snapshot", settings) == rebuilt == reference(store, settings)
    assert len(rebuilt) > 100


def test_a_snapshot_of_other_index_settings_is_not_used(store: Path) -> None:
    reopen(store, "snapshot")
    reopen(store, "database", CollectionSettings(bm25_k1=1.5))
    assert reopen(store, "snapshot", CollectionSettings(bm25_k1=1.5)) == reference(
        store, CollectionSettings(bm25_k1=1.5)
    )


@pytest.mark.parametrize("change", ["ingest", "delete", "replace", "rebuild"])
def test_every_change_makes_the_snapshot_stale(store: Path, change: str) -> None:
    collection = open_collection(store)
    assert collection.indexes_from == "snapshot"
    before = read_manifest_body(store / SNAPSHOT_DIRECTORY)["tag"]
    if change == "ingest":
        collection.ingest([Document(id="new", title="New", text="A new zebrafinch corridor report.")])
    elif change == "delete":
        collection.delete("russia-china-after-kabul-2021")
    elif change == "replace":
        collection.ingest([Document(id="gen-3", title="Generated 3", text="Replaced with Kabul trade.")])
    else:
        collection.rebuild()  # saves the snapshot of the new state itself
        assert read_manifest_body(store / SNAPSHOT_DIRECTORY)["tag"] != before
        in_memory = results(collection)
        collection.close()
        assert reopen(store, "snapshot") == in_memory == reference(store)
        return
    in_memory = results(collection)
    collection.close()
    assert reopen(store, "database") == in_memory == reference(store)
    assert reopen(store, "snapshot") == in_memory


def test_an_open_from_the_snapshot_then_changes_like_a_rebuilt_one(store: Path) -> None:
    collection = open_collection(store)
    assert collection.indexes_from == "snapshot"
    collection.ingest([Document(id="new", title="New", text="A zebrafinch crossed the Kabul corridor.")])
    collection.delete("gen-5")
    changed = results(collection)
    collection.close()
    assert changed == reference(store)


def damage(home: Path, how: str) -> None:
    directory = snapshot_dir(home)
    if how == "flipped vector byte":
        path = directory / "vectors.npy"
        data = bytearray(path.read_bytes())
        data[-3] ^= 0x10
        path.write_bytes(bytes(data))
    elif how == "truncated bm25 scores":
        path = directory / "bm25_data.npy"
        path.write_bytes(path.read_bytes()[:-8])
    elif how == "missing faiss index":
        (directory / "dense.faiss").unlink()
    elif how == "missing directory":
        shutil.rmtree(directory)
    elif how == "garbled manifest":
        path = home / SNAPSHOT_DIRECTORY / MANIFEST_NAME
        path.write_text(path.read_text().replace('"rows": ', '"rows": 1'))
    elif how == "truncated manifest":
        path = home / SNAPSHOT_DIRECTORY / MANIFEST_NAME
        path.write_bytes(path.read_bytes()[:100])


@pytest.mark.parametrize(
    "how",
    [
        "flipped vector byte",
        "truncated bm25 scores",
        "missing faiss index",
        "missing directory",
        "garbled manifest",
        "truncated manifest",
    ],
)
def test_a_damaged_snapshot_falls_back_to_the_rebuild(store: Path, how: str, caplog: pytest.LogCaptureFixture) -> None:
    expected = reference(store)
    damage(store, how)
    report = check_database(store / DATABASE_NAME)
    assert report.ok and any("snapshot" in note for note in report.notes), report.notes
    with caplog.at_level(logging.INFO, logger="index.collection"):
        assert reopen(store, "database") == expected
    [line] = [r.message for r in caplog.records if "rebuilding the indexes from the database" in r.message]
    assert "snapshot" in line
    assert reopen(store, "snapshot") == expected, "the fallback saved a good snapshot again"
    assert check_database(store / DATABASE_NAME).notes == []


def test_a_snapshot_from_another_store_or_state_is_not_used(store: Path, tmp_path: Path) -> None:
    old_snapshot = tmp_path / "old-snapshot"
    shutil.copytree(store / SNAPSHOT_DIRECTORY, old_snapshot)
    collection = open_collection(store)
    collection.delete("gen-7")
    collection.close()
    reopen(store, "database")  # saves the snapshot of the new state
    # An earlier state's snapshot put back: its files are intact, but it is not what the store holds now.
    shutil.rmtree(store / SNAPSHOT_DIRECTORY)
    shutil.copytree(old_snapshot, store / SNAPSHOT_DIRECTORY)
    assert any("stale" in note for note in check_database(store / DATABASE_NAME).notes)
    assert reopen(store, "database") == reference(store)
    # Another store with the same documents, ingested the same way (same generation and row ids).
    other = tmp_path / "other"
    original = open_collection(store)
    documents = list(original.store.iter_documents())
    original.close()
    twin = open_collection(other)
    twin.ingest(documents)
    twin.close()
    shutil.rmtree(other / SNAPSHOT_DIRECTORY, ignore_errors=True)
    shutil.copytree(store / SNAPSHOT_DIRECTORY, other / SNAPSHOT_DIRECTORY)
    assert reopen(other, "database") == reference(other)


def test_a_snapshot_that_disagrees_with_its_recorded_state_is_reported(store: Path) -> None:
    from index.snapshot import IndexParts, write_snapshot

    collection = open_collection(store)
    state = collection.store.state()
    tag = snapshot_tag(state, indexes=collection._index_parameters())
    collection.close()
    parts = load_snapshot(store, tag=tag, state=state)
    checksums = np.array(parts.checksums)
    checksums[[0, 1]] = checksums[[1, 0]]  # same count and sum: only a row-by-row comparison sees it
    forged = IndexParts(**{**parts.__dict__, "checksums": checksums})
    write_snapshot(store, forged, tag=tag)
    report = check_database(store / DATABASE_NAME)
    assert not report.ok and "holds other passage rows" in report.problems[0]


def test_a_damaged_passage_row_is_refused_when_served_from_a_snapshot(store: Path) -> None:
    import sqlite3

    db = sqlite3.connect(store / DATABASE_NAME)
    with db:
        db.execute('UPDATE passages SET "end" = "end" - 1 WHERE rowid = 1')  # checksum left as it was
    db.close()
    collection = open_collection(store)  # the rows are not all read: the snapshot matches the manifest
    try:
        assert collection.indexes_from == "snapshot"
        with pytest.raises(StoreCorruptError, match="passage row 1 "):
            collection.get_passages([1, 2])
        assert collection.get_passages([2])
    finally:
        collection.close()
    assert not check_database(store / DATABASE_NAME).ok


def test_a_snapshot_that_cannot_be_saved_leaves_the_store_serving_and_nothing_half_written(
    store: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import functools

    import index.snapshot as snapshot

    expected = reference(store)
    before = (store / SNAPSHOT_DIRECTORY / MANIFEST_NAME).read_bytes()

    def disk_full(step: str) -> None:
        if step == "file vectors.npy":
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshot, "write_snapshot", functools.partial(snapshot.write_snapshot, after_step=disk_full))
    collection = open_collection(store)
    collection.delete("gen-2")  # a change, so the next open rebuilds and tries to save
    collection.close()
    with caplog.at_level(logging.WARNING, logger="index.snapshot"):
        collection = open_collection(store)
    try:
        assert collection.indexes_from == "database"
        assert any("No space left on device" in r.message for r in caplog.records)
        assert results(collection) == reference(store) != expected
    finally:
        collection.close()
    assert (store / SNAPSHOT_DIRECTORY / MANIFEST_NAME).read_bytes() == before, "the old manifest is untouched"
    assert not [p for p in (store / SNAPSHOT_DIRECTORY).iterdir() if p.name.startswith(".tmp-")]


def test_a_home_where_no_snapshot_can_be_written_still_opens(tmp_path: Path, bundled_documents: list[Document]) -> None:
    home = tmp_path / "home"
    collection = open_collection(home)
    collection.ingest(bundled_documents)
    collection.close()
    (home / SNAPSHOT_DIRECTORY).write_text("not a directory")
    first = reopen(home, "database")
    assert reopen(home, "database") == first == reference(home)
