"""Damaged stores are detected on open, reported with a way out, never served, and repaired from what survives."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.corruption import run_cases
from index import Collection, Document, StoreCorruptError, StoreMismatchError
from index.integrity import check_database
from index.salvage import salvage_store
from index.store import DATABASE_NAME
from tests.fakes import FakeEmbedder

AFGHAN = "russia-afghan-security-2021"
CHINA = "russia-china-after-kabul-2021"


@pytest.fixture
def store(tmp_path: Path, bundled_documents: list[Document]) -> Path:
    """A closed store holding the bundled articles, checkpointed into its one database file."""
    home = tmp_path / "store"
    collection = Collection(home, embedder=FakeEmbedder())
    collection.ingest(bundled_documents)
    collection.close()
    assert not Path(f"{home / DATABASE_NAME}-wal").exists()
    return home


def sql(home: Path, *statements: str) -> None:
    """Change the database behind the store's back, the way a hand edit or another tool would."""
    db = sqlite3.connect(home / DATABASE_NAME)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def flip_bytes_of(home: Path, needle: bytes) -> None:
    """Flip a bit of the first copy of `needle` in the database file, as a failing disk would."""
    database = home / DATABASE_NAME
    data = bytearray(database.read_bytes())
    where = data.find(needle)
    assert where >= 0, "the bytes to damage are not in the file"
    data[where + len(needle) // 2] ^= 0x04
    database.write_bytes(bytes(data))


def opening_fails(home: Path, match: str = "footnote index rebuild") -> str:
    with pytest.raises(StoreCorruptError, match=match) as raised:
        Collection(home, embedder=FakeEmbedder()).close()
    return str(raised.value)


def test_a_healthy_store_passes_every_check(store: Path) -> None:
    report = check_database(store / DATABASE_NAME)
    assert report.ok, report.problems
    assert report.documents == 2 and report.passages > 2


def test_a_truncated_file_is_refused(store: Path) -> None:
    database = store / DATABASE_NAME
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 2])
    assert "cannot be read" in opening_fails(store)
    assert not check_database(database).ok


def test_a_flipped_bit_in_a_document_text_is_refused(store: Path) -> None:
    flip_bytes_of(store, b"Zhirnov")
    message = opening_fails(store)
    assert "fails its checksum" in message and "will not be served" in message
    report = check_database(store / DATABASE_NAME)
    assert not report.ok and report.damaged_documents == {CHINA}


def test_a_flipped_bit_in_a_vector_is_refused(store: Path) -> None:
    db = sqlite3.connect(store / DATABASE_NAME)
    vector = db.execute("SELECT vector FROM passages ORDER BY rowid LIMIT 1 OFFSET 3").fetchone()[0]
    db.close()
    flip_bytes_of(store, vector)
    assert "passage row" in opening_fails(store, match="fails its checksum")


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE passages SET start = start + 1 WHERE rowid = (SELECT max(rowid) FROM passages)",
        "UPDATE passages SET tokens = 'injected words' WHERE rowid = 1",
        "UPDATE documents SET text = replace(text, 'Russia', 'Prussia') WHERE id = 'russia-afghan-security-2021'",
        "UPDATE documents SET checksum = checksum + 1",
    ],
)
def test_a_tampered_row_is_refused(store: Path, tamper: str) -> None:
    sql(store, tamper)
    opening_fails(store, match="fails its checksum")
    assert not check_database(store / DATABASE_NAME).ok


def test_rows_removed_without_the_manifest_knowing_are_refused(store: Path) -> None:
    sql(store, "DROP TRIGGER passages_removed", "DELETE FROM passages WHERE rowid = 2")
    opening_fails(store, match="the manifest records")


def test_a_dropped_manifest_is_refused(store: Path) -> None:
    sql(store, "DROP TABLE manifest")
    opening_fails(store, match="manifest .* is missing")
    assert any("manifest" in problem for problem in check_database(store / DATABASE_NAME).problems)


def test_a_store_from_a_newer_footnote_is_a_mismatch_not_damage(store: Path) -> None:
    sql(store, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreMismatchError, match="schema 99"):
        Collection(store, embedder=FakeEmbedder())


def test_the_checksums_follow_every_change(store: Path, bundled_documents: list[Document]) -> None:
    collection = Collection(store, embedder=FakeEmbedder())
    collection.delete(CHINA)
    changed = Document(id=AFGHAN, title="Changed", text=bundled_documents[0].text + " One more sentence.")
    collection.ingest([changed, bundled_documents[1]])
    collection.ingest([Document(id="new", title="New", text="A short new document about ferries.")])
    collection.delete("new")
    collection.close()
    report = check_database(store / DATABASE_NAME)
    assert report.ok, report.problems
    assert report.documents == 2


def test_a_schema_1_store_gets_checksums_on_first_open(store: Path) -> None:
    # Turn the store back into what Footnote wrote before checksums existed.
    sql(
        store,
        "DROP TABLE manifest",
        *(f"DROP TRIGGER {t}_{e}" for t in ("documents", "passages") for e in ("added", "removed", "changed")),
        "ALTER TABLE documents DROP COLUMN checksum",
        "ALTER TABLE passages DROP COLUMN checksum",
        "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
    )
    assert check_database(store / DATABASE_NAME).notes
    collection = Collection(store, embedder=FakeEmbedder())
    assert collection.count_documents() == 2
    collection.close()
    report = check_database(store / DATABASE_NAME)
    assert report.ok and not report.notes


def damage_china(home: Path) -> None:
    flip_bytes_of(home, b"Zhirnov")


def truncate_to_three_quarters(home: Path) -> None:
    database = home / DATABASE_NAME
    data = database.read_bytes()
    database.write_bytes(data[: len(data) * 3 // 4])


@pytest.mark.parametrize("damage", [damage_china, truncate_to_three_quarters])
def test_rebuild_repairs_from_the_intact_documents_and_keeps_the_damaged_file(
    store: Path, damage: Callable[[Path], None]
) -> None:
    damage(store)
    damaged_bytes = (store / DATABASE_NAME).read_bytes()
    embedder = FakeEmbedder()
    report = salvage_store(store, embedder=embedder)
    assert (report.backup / DATABASE_NAME).read_bytes() == damaged_bytes, "the damaged file is kept as it was"
    assert check_database(store / DATABASE_NAME).ok
    collection = Collection(store, embedder=FakeEmbedder())
    stored = {summary.id for summary in collection.list_documents()}
    assert stored == set(report.recovered)
    assert not set(report.lost) & stored
    for document_id in stored:
        document = collection.get_document(document_id)
        for rowid in collection.store.passage_rowids(document_id):
            passage = collection.get_passages([rowid])[rowid].passage
            assert document.text[passage.start : passage.end] == passage.text
    assert collection.count_vectors() == collection.count_passages() == collection.store.count_passages()
    collection.close()
    if damage is damage_china:
        assert report.recovered == [AFGHAN] and report.lost == [CHINA]
        assert report.reused_vectors > 0 and report.embedded_passages == 0, "intact vectors are not embedded again"


def test_reused_vectors_are_the_ones_stored(store: Path) -> None:
    before = Collection(store, embedder=FakeEmbedder())
    rows = before.store.read_index_rows()
    before.close()
    damage_china(store)
    salvage_store(store, embedder=FakeEmbedder(name="fake-embedder"))
    after = Collection(store, embedder=FakeEmbedder())
    kept = after.store.read_index_rows()
    after.close()
    afghan = [i for i, d in enumerate(rows.document_ids) if d == AFGHAN]
    assert np.array_equal(kept.vectors, rows.vectors[afghan])


def test_random_damage_is_detected_or_harmless_and_never_served(tmp_path: Path) -> None:
    result = run_cases(tmp_path, synthetic=10, flips=15, runs=5, truncations=2, seed=13)
    assert result.failures == []
    assert result.served == 0 and result.crashed == 0
    assert result.detected >= 19, "every aimed flip and every edit behind the store's back is detected"
    assert result.repaired == result.detected
