"""The store and its indexes: idempotent ingest, updates, deletes, reopening, and refusing bad states."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from index import (
    ChunkingSettings,
    Collection,
    CollectionSettings,
    Document,
    DocumentLoadError,
    DocumentNotFoundError,
    IngestStatus,
    RetrievalSettings,
    Retriever,
    StoreCorruptError,
    StoreMismatchError,
    chunk_document,
)
from tests.conftest import PROJECT_ROOT
from tests.fakes import FailingEmbedder, FakeEmbedder

# Plain BM25, without relevance feedback, so a hit means the word is in the document.
LEXICAL = RetrievalSettings(k=10, mode="lexical", feedback_passages=0)


def lexical_hits(collection: Collection, query: str) -> set[str]:
    return {r.passage.document_id for r in Retriever(collection).search(query, settings=LEXICAL)}


def test_ingest_then_reingest_unchanged_is_a_no_op(
    fake_collection: Collection, bundled_documents: list[Document]
) -> None:
    first = fake_collection.ingest(bundled_documents)
    assert [r.status for r in first] == [IngestStatus.ADDED, IngestStatus.ADDED]
    passages = fake_collection.count_passages()
    assert passages == sum(r.passages for r in first) > 0
    embedder = fake_collection.embedder
    assert isinstance(embedder, FakeEmbedder)
    calls = embedder.calls
    again = fake_collection.ingest(bundled_documents)
    assert [r.status for r in again] == [IngestStatus.UNCHANGED, IngestStatus.UNCHANGED]
    assert [r.passages for r in again] == [r.passages for r in first]
    assert embedder.calls == calls, "unchanged documents are not embedded again"
    assert fake_collection.count_passages() == passages


def test_changed_document_replaces_its_passages(fake_collection: Collection) -> None:
    fake_collection.ingest([Document(id="a", title="A", text="The caravan crossed the zebrafinch pass.")])
    assert lexical_hits(fake_collection, "zebrafinch") == {"a"}
    [result] = fake_collection.ingest([Document(id="a", title="A", text="The convoy took the northern road.")])
    assert result.status is IngestStatus.UPDATED
    assert lexical_hits(fake_collection, "zebrafinch") == set()
    assert lexical_hits(fake_collection, "convoy") == {"a"}
    assert fake_collection.count_passages() == 1
    assert fake_collection.get_document("a").text == "The convoy took the northern road."


def test_delete_removes_document_and_passages(fake_collection: Collection, bundled_documents: list[Document]) -> None:
    fake_collection.ingest(bundled_documents)
    fake_collection.delete("russia-china-after-kabul-2021")
    assert lexical_hits(fake_collection, "Zhirnov ambassador") == set()
    assert [d.id for d in fake_collection.list_documents()] == ["russia-afghan-security-2021"]
    with pytest.raises(DocumentNotFoundError):
        fake_collection.get_document("russia-china-after-kabul-2021")
    with pytest.raises(DocumentNotFoundError):
        fake_collection.delete("russia-china-after-kabul-2021")


def test_reopened_store_searches_the_same(tmp_path: Path, bundled_documents: list[Document]) -> None:
    first = Collection(tmp_path / "s", embedder=FakeEmbedder())
    first.ingest(bundled_documents)
    before = [(r.passage.id, r.score) for r in Retriever(first).search("Russia Taliban embassy Kabul")]
    first.close()
    second = Collection(tmp_path / "s", embedder=FakeEmbedder())
    after = [(r.passage.id, r.score) for r in Retriever(second).search("Russia Taliban embassy Kabul")]
    assert after == before and len(after) > 0
    second.close()


def test_failed_ingest_stores_nothing_and_keeps_what_was_there(tmp_path: Path) -> None:
    collection = Collection(tmp_path / "s", embedder=FailingEmbedder(fail_on_call=2))
    collection.ingest([Document(id="keep", title="Keep", text="The original text stays.")])
    with pytest.raises(RuntimeError, match="on purpose"):
        collection.ingest(
            [
                Document(id="keep", title="Keep", text="A replacement that never lands."),
                Document(id="new", title="New", text="A document that never lands."),
            ]
        )
    assert collection.get_document("keep").text == "The original text stays."
    assert [d.id for d in collection.list_documents()] == ["keep"]
    assert collection.count_passages() == 1
    collection.close()


def test_duplicate_ids_in_one_ingest_are_refused(fake_collection: Collection) -> None:
    documents = [
        Document(id="same", title="One", text="First.", path="a/same.md"),
        Document(id="same", title="Two", text="Second.", path="b/same.md"),
    ]
    with pytest.raises(DocumentLoadError, match="also used by a/same.md"):
        fake_collection.ingest(documents)
    assert fake_collection.count_documents() == 0


def test_store_built_with_another_model_is_refused_until_rebuilt(
    tmp_path: Path, bundled_documents: list[Document]
) -> None:
    Collection(tmp_path / "s", embedder=FakeEmbedder(name="model-a")).ingest(bundled_documents)
    with pytest.raises(StoreMismatchError, match="model-a"):
        Collection(tmp_path / "s", embedder=FakeEmbedder(name="model-b"))
    rebuilding = Collection(tmp_path / "s", embedder=FakeEmbedder(name="model-b"), allow_settings_mismatch=True)
    assert rebuilding.rebuild() > 0
    rebuilding.close()
    reopened = Collection(tmp_path / "s", embedder=FakeEmbedder(name="model-b"))
    assert reopened.count_documents() == 2
    reopened.close()


def test_rebuild_after_a_lexical_change_does_not_re_embed(tmp_path: Path, bundled_documents: list[Document]) -> None:
    Collection(tmp_path / "s", embedder=FakeEmbedder()).ingest(bundled_documents)
    embedder = FakeEmbedder()
    other = CollectionSettings(lexical_title_repeats=1)
    with pytest.raises(StoreMismatchError, match="lexical_title_repeats"):
        Collection(tmp_path / "s", embedder=embedder, settings=other)
    rebuilding = Collection(tmp_path / "s", embedder=embedder, settings=other, allow_settings_mismatch=True)
    passages = rebuilding.count_passages()
    assert rebuilding.rebuild() == passages
    assert embedder.calls == 0, "vectors are reused when only the lexical tokens change"
    assert lexical_hits(rebuilding, "Zhirnov") == {"russia-china-after-kabul-2021"}
    rebuilding.close()
    Collection(tmp_path / "s", embedder=embedder, settings=other).close()


def test_changed_chunking_is_a_mismatch(tmp_path: Path, bundled_documents: list[Document]) -> None:
    Collection(tmp_path / "s", embedder=FakeEmbedder()).ingest(bundled_documents)
    other = CollectionSettings(chunking=ChunkingSettings(max_words=60))
    with pytest.raises(StoreMismatchError, match="chunk_max_words"):
        Collection(tmp_path / "s", embedder=FakeEmbedder(), settings=other)


def test_corrupt_database_is_refused_with_a_clear_message(tmp_path: Path, bundled_documents: list[Document]) -> None:
    collection = Collection(tmp_path / "s", embedder=FakeEmbedder())
    collection.ingest(bundled_documents)
    collection.close()
    database = tmp_path / "s" / "footnote.db"
    data = bytearray(database.read_bytes())
    data[:16] = b"definitely-not-a"
    database.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError, match="cannot be read"):
        Collection(tmp_path / "s", embedder=FakeEmbedder())


_CRASHER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from index import Collection, Document
    from tests.fakes import FakeEmbedder

    collection = Collection(Path(sys.argv[1]), embedder=FakeEmbedder())
    start = int(sys.argv[2])
    for number in range(start, start + 100000):
        text = " ".join(f"Sentence {n} of document {number} mentions token{number}x." for n in range(40))
        collection.ingest([Document(id=f"doc{number}", title=f"Doc {number}", text=text)])
        print(f"ACK doc{number}", flush=True)
    """
)


def test_kill_nine_during_ingest_never_leaves_a_torn_store(tmp_path: Path) -> None:
    home = tmp_path / "crash"
    acknowledged: set[str] = set()
    rng = random.Random(7)
    next_number = 0
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "-c", _CRASHER, str(home), str(next_number)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        wanted = rng.randint(1, 4)
        seen = 0
        while seen < wanted:
            line = process.stdout.readline()
            assert line, "the ingest subprocess died before acknowledging anything"
            acknowledged.add(line.split()[1])
            seen += 1
        time.sleep(rng.uniform(0.0, 0.05))
        process.kill()
        process.wait()
        for line in process.stdout:
            acknowledged.add(line.split()[1])
        process.stdout.close()
        next_number += 1000

    collection = Collection(home, embedder=FakeEmbedder())
    stored = {summary.id: summary for summary in collection.list_documents()}
    assert acknowledged <= set(stored), "every acknowledged document survives the kill"
    for document_id, summary in stored.items():
        expected = len(chunk_document(collection.get_document(document_id)))
        assert summary.passages == expected, f"{document_id} is whole"
    assert collection.count_passages() == sum(s.passages for s in stored.values())
    for document_id in sorted(acknowledged)[:5]:
        token = f"token{document_id.removeprefix('doc')}x"
        assert lexical_hits(collection, token) == {document_id}
    collection.close()
