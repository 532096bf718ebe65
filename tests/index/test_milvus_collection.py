"""The Milvus backend against the embedded one on the same SQLite store: SciFact queries give the same dense,
lexical and fused results, on a milvus-lite folder and on a milvus-lite server; deletes and replacements are seen
at once and whole, by the writer and by a replica; the row count follows the store."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from eval.retrieval import load_beir
from harness.milvus_server import milvus_lite_server
from index import Collection, CollectionSettings, Document, RetrievalSettings, Retriever
from index.errors import IndexOutOfSyncError, ReadOnlyReplicaError, StoreMismatchError
from index.lexical_index import query_terms
from index.milvus_collection import MilvusCollection
from index.milvus_state import LIVE, MilvusSettings, connect, row_key
from index.milvus_store import MilvusStore
from index.vector_index import RowIds, Scores
from tests.conftest import SHARED
from tests.fakes import FakeEmbedder

SCIFACT = SHARED / "datasets" / "scifact"
# Few enough to index in seconds, under the retriever's 1,000 candidates so no list is cut at a tie.
SUBSET_DOCUMENTS = 250
# milvus-lite's engine is pure Python (a hybrid search of 1,000 candidates takes about a second here).
QUERIES = 12
TOLERANCE = 1e-4


def scifact_subset() -> tuple[list[Document], list[str]]:
    """The documents judged for the first test queries, filled up with more of the corpus; and those queries."""
    if not (SCIFACT / "corpus.jsonl").is_file():
        pytest.skip(f"SciFact is not at {SCIFACT} (the shared datasets folder beside the checkout)")
    dataset = load_beir(SCIFACT, split="test")
    queries = sorted(dataset.queries.items())[:QUERIES]
    wanted = {doc for query_id, _ in queries for doc in dataset.qrels[query_id]}
    chosen = [d for d in dataset.documents if d.id in wanted]
    chosen += [d for d in dataset.documents if d.id not in wanted][: SUBSET_DOCUMENTS - len(chosen)]
    return chosen, [text for _, text in queries]


@pytest.fixture(scope="module")
def scifact_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Collection, list[str]]]:
    """An embedded collection over the SciFact subset (fake 256-dimension vectors), and the queries."""
    documents, queries = scifact_subset()
    home = tmp_path_factory.mktemp("scifact") / "home"
    collection = Collection(home, embedder=FakeEmbedder(256), settings=CollectionSettings())
    collection.ingest(documents)
    yield home, collection, queries
    collection.close()


@pytest.fixture(scope="module", params=["file", "server"])
def milvus_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A milvus-lite folder opened in this process, or a milvus-lite server on 127.0.0.1."""
    folder = tmp_path_factory.mktemp(f"milvus-{request.param}")
    if request.param == "file":
        yield str(folder / "milvus.db")
        return
    with milvus_lite_server(folder / "data") as server:
        yield server.uri


def assert_same_ranking(expected: tuple[RowIds, Scores], found: tuple[RowIds, Scores]) -> None:
    """Same scores position by position, and the same rows, up to the order of rows whose scores tie."""
    assert len(found[0]) == len(expected[0])
    np.testing.assert_allclose(found[1], expected[1], rtol=TOLERANCE, atol=TOLERANCE)
    scores_found = dict(zip(found[0].tolist(), found[1].tolist(), strict=True))
    for rowid, score in zip(expected[0].tolist(), expected[1].tolist(), strict=True):
        if rowid in scores_found:
            assert scores_found[rowid] == pytest.approx(score, rel=TOLERANCE, abs=TOLERANCE)
        else:  # cut off at the end of the list, where it ties with the last row found
            assert score == pytest.approx(float(found[1][-1]), rel=TOLERANCE, abs=TOLERANCE)


@pytest.mark.slow
def test_scifact_results_match_the_embedded_index(
    scifact_store: tuple[Path, Collection, list[str]], milvus_uri: str
) -> None:
    home, embedded, queries = scifact_store
    milvus = MilvusCollection(home, embedder=embedded.embedder, milvus=MilvusSettings(uri=milvus_uri))
    try:
        assert milvus.count_passages() == milvus.count_vectors() == embedded.count_passages() > SUBSET_DOCUMENTS
        assert milvus.check().ok
        for query in queries:
            vector = embedded.embedder.embed_query(query)
            assert_same_ranking(embedded.dense_search(vector, 100), milvus.dense_search(vector, 100))
            terms = query_terms(query)
            assert_same_ranking(embedded.lexical_search(terms, 100), milvus.lexical_search(terms, 100))
            # Fused: both lists, z-scores, relevance feedback (term counts and frequencies read back from Milvus).
            settings = RetrievalSettings(k=10)
            expected = Retriever(embedded, settings).search(query)
            found = Retriever(milvus, settings).search(query)
            assert [(p.passage.document_id, p.passage.ordinal) for p in found] == [
                (p.passage.document_id, p.passage.ordinal) for p in expected
            ], query
            assert [p.score for p in found] == pytest.approx([p.score for p in expected], abs=TOLERANCE)
            assert [p.passage.text for p in found] == [p.passage.text for p in expected]
            assert [(p.title, p.date, p.source) for p in found] == [(p.title, p.date, p.source) for p in expected]
    finally:
        milvus.close()


def test_an_approximate_index_rescores_its_shortlist_exactly(
    scifact_store: tuple[Path, Collection, list[str]], tmp_path: Path
) -> None:
    home, embedded, queries = scifact_store
    hnsw = MilvusSettings(uri=str(tmp_path / "hnsw.db"), index_type="HNSW", hnsw_m=16, search_ef=256)
    milvus = MilvusCollection(home, embedder=embedded.embedder, milvus=hnsw)
    try:
        for query in queries[:10]:
            vector = embedded.embedder.embed_query(query)
            # On a few hundred rows HNSW with ef 256 finds the true neighbours; the scores are exact, not HNSW's.
            assert_same_ranking(embedded.dense_search(vector, 10), milvus.dense_search(vector, 10))
    finally:
        milvus.close()


@pytest.fixture
def writer(tmp_path: Path, bundled_documents: list[Document]) -> Iterator[MilvusCollection]:
    """A Milvus-backed writer over a fresh store holding the bundled articles."""
    collection = MilvusCollection(
        tmp_path / "home", embedder=FakeEmbedder(), milvus=MilvusSettings(uri=str(tmp_path / "milvus.db"))
    )
    collection.ingest(bundled_documents)
    yield collection
    collection.close()


def replica_of(writer: MilvusCollection, tmp_path: Path) -> MilvusCollection:
    """A read-only replica on the writer's Milvus, with a data folder of its own that stays empty."""
    return MilvusCollection(
        tmp_path / "replica-home", embedder=FakeEmbedder(), milvus=writer.milvus.settings, read_only=True
    )


def test_deletes_and_replacements_are_seen_at_once_by_writer_and_replica(
    writer: MilvusCollection, tmp_path: Path, bundled_documents: list[Document]
) -> None:
    replica = replica_of(writer, tmp_path)
    try:
        first = bundled_documents[0]
        stored = writer.store.count_passages()
        assert replica.count_passages() == replica.count_vectors() == stored
        assert replica.count_documents() == len(bundled_documents)

        writer.delete(first.id)
        for reader in (writer, replica):
            found = Retriever(reader).search(first.title, k=20)
            assert found and all(p.passage.document_id != first.id for p in found)
            assert reader.count_passages() == reader.count_vectors() == writer.store.count_passages() < stored

        replacement = Document(id=first.id, title="Herons at Lake Vesi", text="The heron colony grew to 214 nests.")
        writer.ingest([replacement])
        found = Retriever(replica).search("heron nests Lake Vesi", k=3)
        assert found[0].passage.document_id == first.id and found[0].passage.text == replacement.text
        assert replica.count_vectors() == writer.store.count_passages()
        assert writer.check().ok
        assert not (tmp_path / "replica-home").exists()  # the replica never opened (or created) a store
    finally:
        replica.close()


def test_rows_of_an_unpublished_generation_stay_invisible(writer: MilvusCollection) -> None:
    """What a reader sees between a write's rows going in and the switch that publishes them."""
    state = writer.milvus.state()
    assert state is not None
    before = writer.lexical_search(query_terms("zebra"), 10)
    row = writer.milvus.rows(state, [int(writer.dense_search(np.ones((1, 64), np.float32), 1)[0][0])], ["*"])
    template = next(iter(row.values()))
    pending = state.generation + 1
    writer.milvus.insert_passages(
        state,
        [{**template, "key": row_key(pending, 999_999), "rowid": 999_999, "generation": pending, "retired": LIVE}],
    )
    writer.milvus.retire(state, [int(template["rowid"])], generation=pending)
    assert writer.count_vectors() == writer.count_passages()  # neither the new row nor the retirement shows yet
    assert writer.lexical_search(query_terms("zebra"), 10)[0].tolist() == before[0].tolist()
    assert 999_999 not in writer.get_passages([999_999])
    assert int(template["rowid"]) in writer.get_passages([int(template["rowid"])])
    problems = writer.check().problems
    assert any("never published" in problem for problem in problems)


def test_a_replica_refuses_document_changes(writer: MilvusCollection, tmp_path: Path) -> None:
    replica = replica_of(writer, tmp_path)
    try:
        assert replica.read_only and not writer.read_only
        with pytest.raises(ReadOnlyReplicaError, match="read-only replica"):
            replica.ingest([Document(id="x", title="X", text="Some text here.")])
        with pytest.raises(ReadOnlyReplicaError):
            replica.delete("x")
        with pytest.raises(ReadOnlyReplicaError):
            replica.get_document("x")
    finally:
        replica.close()


def test_a_replica_with_another_embedding_model_is_refused(writer: MilvusCollection, tmp_path: Path) -> None:
    replica = MilvusCollection(
        tmp_path / "other",
        embedder=FakeEmbedder(name="another-model"),
        milvus=writer.milvus.settings,
        read_only=True,
    )
    try:
        with pytest.raises(StoreMismatchError, match="another-model"):
            replica.dense_search(np.ones((1, 64), np.float32), 5)
    finally:
        replica.close()


def test_a_bad_uri_or_a_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StoreMismatchError, match=r"ending in \.db or an http://"):
        connect(MilvusSettings(uri="/tmp/somewhere/milvus"))
    monkeypatch.setitem(__import__("sys").modules, "pymilvus", None)
    with pytest.raises(StoreMismatchError, match=r"pip install 'footnote\[milvus\]'"):
        MilvusStore(MilvusSettings(uri="/tmp/milvus.db"))


def test_every_public_collection_method_is_served_by_milvus() -> None:
    """MilvusCollection stands in for Collection everywhere: a method added to one must be added to the other."""
    public = {name for name, _ in inspect.getmembers(Collection, inspect.isfunction) if not name.startswith("_")}
    missing = {name for name in public if getattr(MilvusCollection, name) is getattr(Collection, name)}
    assert not missing


@pytest.mark.slow  # the rebuild keeps the replaced collections for a 5 s grace
def test_lexical_scores_drift_as_the_corpus_grows_until_a_rebuild(
    tmp_path: Path, bundled_documents: list[Document]
) -> None:
    """Stored BM25 vectors keep the average length of the first passages; `sync_index` brings the current one."""
    writer = MilvusCollection(
        tmp_path / "home", embedder=FakeEmbedder(), milvus=MilvusSettings(uri=str(tmp_path / "milvus.db"))
    )
    try:
        writer.ingest([Document(id="note", title="Kabul", text="Security in Kabul.")])  # avgdl: a few tokens
        writer.ingest(bundled_documents)  # passages of a hundred tokens and more
        embedded = Collection(tmp_path / "home", embedder=FakeEmbedder(), settings=CollectionSettings())
        terms = query_terms("Russia Afghanistan Kabul security")
        expected = embedded.lexical_search(terms, 50)
        drifted = writer.lexical_search(terms, 50)
        assert sorted(drifted[0].tolist()) == sorted(expected[0].tolist())
        assert not np.allclose(np.sort(drifted[1]), np.sort(expected[1]), atol=TOLERANCE)
        assert any("average passage length" in note for note in writer.check().notes)

        assert writer.sync_index() == embedded.count_passages()
        assert_same_ranking(expected, writer.lexical_search(terms, 50))
        assert writer.check().ok and not writer.check().notes
        embedded.close()
    finally:
        writer.close()


def test_a_document_replaced_under_readers_is_always_seen_whole(writer: MilvusCollection, tmp_path: Path) -> None:
    """Readers of a replica never see a replacement half done: one version's passages, all of them, or none yet."""
    one_passage = Document(id="flip", title="Flip", text="Herons nest at Lake Vesi.")
    three_passages = Document(
        id="flip",
        title="Flip",
        text="\n\n".join(" ".join([f"Paragraph {n} says the herons nest in alders."] * 12) for n in range(3)),
    )
    writer.ingest([one_passage])
    sizes = {len(writer.store.passage_rowids("flip"))}
    writer.ingest([three_passages])
    sizes.add(len(writer.store.passage_rowids("flip")))
    assert sizes == {1, 3}
    replica = replica_of(writer, tmp_path)
    seen: list[int] = []
    done = threading.Event()

    def flip() -> None:
        try:
            for version in [one_passage, three_passages] * 5:
                writer.ingest([version])
        finally:
            done.set()

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        while not done.is_set():
            state = replica.milvus.state()
            assert state is not None
            seen.append(len(replica.milvus.document_rowids(state, ["flip"])))
    finally:
        flipper.join()
        replica.close()
    assert set(seen) <= {1, 3} and len(seen) > 10


def test_a_writer_with_other_bm25_settings_refuses_until_a_rebuild(writer: MilvusCollection, tmp_path: Path) -> None:
    """k1 and b are baked into the stored vectors: serving with others would score wrongly, so it is refused."""
    with pytest.raises(IndexOutOfSyncError, match=r"bm25_k1: '1.2' -> '1.5'.*footnote index rebuild"):
        MilvusCollection(
            writer.home,
            embedder=FakeEmbedder(),
            milvus=writer.milvus.settings,
            settings=CollectionSettings(bm25_k1=1.5),
        )
