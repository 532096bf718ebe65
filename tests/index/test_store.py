"""DocumentStore on its own, below the Collection: what a write stores, what a failed write leaves, the
generation counter, listings, passage lookups and the rows the search indexes are built from."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index import Document, DocumentNotFoundError, StoreCorruptError, chunk_document
from index.chunking import ChunkingSettings
from index.integrity import check_database
from index.store import DATABASE_NAME, DocumentStore, PreparedDocument

DIMENSION = 4


def document(document_id: str, sentences: int = 3, *, title: str = "Title") -> Document:
    text = " ".join(f"Sentence {n} of {document_id} is here." for n in range(sentences))
    return Document(id=document_id, title=title, text=text, date="2021-09-01", source="https://example.org")


def prepared(doc: Document, *, seed: int = 0, dimension: int = DIMENSION) -> PreparedDocument:
    passages = chunk_document(doc, ChunkingSettings(max_words=6, overlap_sentences=0))
    vectors = np.random.default_rng(seed).random((len(passages), dimension), dtype=np.float32)
    return PreparedDocument(doc, passages, [f"tokens of {p.id}" for p in passages], vectors)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DocumentStore]:
    opened = DocumentStore(tmp_path / DATABASE_NAME)
    yield opened
    opened.close()


def test_a_written_document_reads_back_whole_with_its_passages_cut_from_its_text(store: DocumentStore) -> None:
    doc = document("bridge")
    item = prepared(doc)
    rowids = store.write_documents([item])["bridge"]
    assert len(rowids) == len(item.passages) > 1
    assert store.get_document("bridge") == doc
    assert store.content_hash("bridge") == doc.content_hash and store.content_hash("ferry") is None
    found = store.get_passages(rowids)
    for rowid, passage in zip(rowids, item.passages, strict=True):
        assert found[rowid].passage == passage
        assert doc.text[passage.start : passage.end] == found[rowid].passage.text
        assert (found[rowid].title, found[rowid].date, found[rowid].source) == (doc.title, doc.date, doc.source)
    assert store.passage_rowids("bridge") == rowids


def test_rewriting_a_document_replaces_its_passages(store: DocumentStore) -> None:
    store.write_documents([prepared(document("bridge", 4))])
    shorter = prepared(document("bridge", 2))
    new = store.write_documents([shorter])["bridge"]
    assert store.count_documents() == 1 and store.count_passages() == len(new) == len(shorter.passages)
    assert store.passage_rowids("bridge") == new
    assert [p.passage for p in store.get_passages(new).values()] == list(shorter.passages)


def test_a_write_that_fails_half_way_leaves_the_store_as_it_was(store: DocumentStore) -> None:
    store.write_documents([prepared(document("bridge"))])
    generation = store.generation
    good = prepared(document("ferry"))
    broken = prepared(document("tunnel"))
    broken = PreparedDocument(broken.document, broken.passages, broken.tokens[:-1], broken.vectors)  # one token short
    with pytest.raises(ValueError):
        store.write_documents([good, broken])
    assert [s.id for s in store.list_documents()] == ["bridge"], "the document written before the failure is gone"
    assert store.generation == generation
    assert check_database(store.path).ok


def test_every_committed_change_moves_the_generation_and_nothing_else_does(store: DocumentStore) -> None:
    start = store.generation
    store.write_documents([prepared(document("bridge"))])
    after_write = store.generation
    store.set_meta({"embedding_model": "fake"})
    store.get_document("bridge")
    assert store.generation == after_write > start
    store.delete_document("bridge")
    assert store.generation == after_write + 1
    with pytest.raises(DocumentNotFoundError):
        store.delete_document("bridge")
    assert store.generation == after_write + 1, "a delete of nothing commits nothing"


def test_a_delete_returns_the_removed_row_ids_and_takes_the_passages_with_it(store: DocumentStore) -> None:
    rowids = store.write_documents([prepared(document("bridge")), prepared(document("ferry"))])
    assert store.delete_document("bridge") == rowids["bridge"]
    assert store.get_passages(rowids["bridge"]) == {} and store.passage_rowids("bridge") == []
    assert set(store.get_passages(rowids["ferry"])) == set(rowids["ferry"])
    with pytest.raises(DocumentNotFoundError):
        store.get_document("bridge")


def test_listings_are_ordered_by_id_paged_and_count_passages_and_characters(store: DocumentStore) -> None:
    docs = [document(name, n) for name, n in (("c-doc", 1), ("a-doc", 5), ("b-doc", 3))]
    written = store.write_documents([prepared(d) for d in docs])
    listed = store.list_documents()
    assert [s.id for s in listed] == ["a-doc", "b-doc", "c-doc"]
    by_id = {d.id: d for d in docs}
    for summary in listed:
        assert summary.characters == len(by_id[summary.id].text)
        assert summary.passages == len(written[summary.id])
        assert summary.ingested_at.endswith("+00:00")
    assert [s.id for s in store.list_documents(offset=1, limit=1)] == ["b-doc"]
    assert store.list_documents(offset=3) == []
    assert [d.id for d in store.iter_documents()] == ["a-doc", "b-doc", "c-doc"]


def test_passages_are_looked_up_in_slices_past_sqlites_parameter_limit(store: DocumentStore) -> None:
    doc = document("long", 1200)
    rowids = store.write_documents([prepared(doc)])["long"]
    assert len(rowids) > 500
    found = store.get_passages([*rowids, 10**9])
    assert set(found) == set(rowids), "every row in every slice, and an unknown row id is simply absent"
    assert store.get_passages([]) == {}


def test_index_rows_come_in_row_id_order_with_their_vectors(store: DocumentStore) -> None:
    assert store.read_index_rows().vectors.shape == (0, 0)
    bridge, ferry = prepared(document("bridge"), seed=1), prepared(document("ferry"), seed=2)
    rowids = store.write_documents([bridge, ferry])
    rows = store.read_index_rows()
    assert list(rows.rowids) == sorted(rowids["bridge"] + rowids["ferry"])
    assert rows.document_ids == ["bridge"] * len(rowids["bridge"]) + ["ferry"] * len(rowids["ferry"])
    assert np.array_equal(rows.vectors, np.vstack([bridge.vectors, ferry.vectors]))
    assert rows.tokens[0] == "tokens of bridge#0"


def test_vectors_of_two_sizes_are_never_served(store: DocumentStore) -> None:
    store.write_documents([prepared(document("bridge")), prepared(document("ferry"), dimension=DIMENSION + 1)])
    with pytest.raises(StoreCorruptError, match="vectors of different sizes"):
        store.read_index_rows()


def test_new_tokens_keep_the_vectors_and_the_checksums_valid(store: DocumentStore) -> None:
    rowids = store.write_documents([prepared(document("bridge"))])["bridge"]
    before = store.read_index_rows()
    store.replace_tokens({rowids[0]: "retokenised words"}, {"tokenizer": "v2"})
    after = store.read_index_rows()
    assert after.tokens[0] == "retokenised words" and after.tokens[1:] == before.tokens[1:]
    assert np.array_equal(after.vectors, before.vectors)
    assert store.get_meta("tokenizer") == "v2"
    assert check_database(store.path).ok


def test_replacing_all_passages_keeps_the_documents(store: DocumentStore) -> None:
    docs = [document("bridge", 4), document("ferry", 4)]
    store.write_documents([prepared(d) for d in docs])
    recut = [
        PreparedDocument(d, chunk_document(d), ["all of it"], np.ones((1, DIMENSION), dtype=np.float32)) for d in docs
    ]
    store.replace_all_passages(recut, {"chunker": "whole"})
    assert store.count_documents() == 2 and store.count_passages() == 2
    assert store.get_meta("chunker") == "whole"
    assert check_database(store.path).ok


def test_a_store_reopens_with_what_was_committed(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / DATABASE_NAME
    first = DocumentStore(path)
    first.write_documents([prepared(document("bridge"))])
    first.set_meta({"embedding_model": "fake"})
    generation = first.generation
    first.close()
    again = DocumentStore(path)
    assert again.get_document("bridge") == document("bridge")
    assert again.get_meta("embedding_model") == "fake" and again.generation == generation
    assert again.get_meta("never-set") is None
    again.close()


def test_a_database_with_tables_but_no_schema_version_is_refused_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    DocumentStore(path).close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM meta WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreCorruptError, match="schema version is missing"):
        DocumentStore(path)


def test_a_file_that_is_not_a_database_is_refused_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_NAME
    path.write_bytes(b"these are not the bytes of an SQLite database" * 100)
    with pytest.raises(StoreCorruptError, match="footnote index rebuild"):
        DocumentStore(path)
