"""Fusion arithmetic, diversity, per-document caps and score components of the hybrid retriever."""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index import Collection, Document, RetrievalSettings, Retriever, retrieval
from index.retrieval import (
    RankedList,
    maximal_marginal_relevance,
    reciprocal_rank_fusion,
    relevance_feedback_terms,
    without_common_terms,
    zscore_fusion,
)
from tests.fakes import FakeEmbedder


def ranked(rowids: list[int], scores: list[float]) -> RankedList:
    return RankedList(np.asarray(rowids, dtype=np.int64), np.asarray(scores, dtype=np.float32))


def as_dict(fused: RankedList) -> dict[int, float]:
    return dict(zip(fused.rowids.tolist(), fused.scores.tolist(), strict=True))


def test_reciprocal_rank_fusion_by_hand() -> None:
    result = reciprocal_rank_fusion(ranked([1, 2, 3], [0.9, 0.8, 0.7]), ranked([3, 1], [5.0, 1.0]), k=10)
    assert result.rowids.tolist() == [1, 3, 2]  # best first
    fused = as_dict(result)
    assert fused[1] == pytest.approx(1 / 11 + 1 / 12)
    assert fused[2] == pytest.approx(1 / 12)
    assert fused[3] == pytest.approx(1 / 13 + 1 / 11)
    assert max(fused, key=lambda rowid: fused[rowid]) == 1  # ranks 1 and 2 beat ranks 1 and 3


def test_zscore_fusion_by_hand() -> None:
    # dense scores 3, 2, 1 have mean 2 and std sqrt(2/3); lexical 4, 2 have mean 3 and std 1.
    result = zscore_fusion(ranked([1, 2, 3], [3.0, 2.0, 1.0]), ranked([3, 4], [4.0, 2.0]), dense_weight=0.25)
    assert result.rowids.tolist() == [3, 1, 2, 4]  # best first
    fused = as_dict(result)
    spread = math.sqrt(2 / 3)
    assert fused[1] == pytest.approx(0.25 * (1 / spread) + 0.75 * -1.0)  # absent from lexical: its lowest z
    assert fused[2] == pytest.approx(0.25 * 0.0 + 0.75 * -1.0)
    assert fused[3] == pytest.approx(0.25 * (-1 / spread) + 0.75 * 1.0)
    assert fused[4] == pytest.approx(0.25 * (-1 / spread) + 0.75 * -1.0)  # absent from dense: its lowest z


def test_relevance_feedback_by_hand() -> None:
    query = {"russia": 0.5, "role": 0.5}
    feedback = [(Counter({"russia": 2, "drill": 2}), 3.0), (Counter({"taliban": 1, "drill": 1}), 1.0)]
    mixed = relevance_feedback_terms(query, feedback, terms=2, weight=0.4)
    # Shares: 2.001 and 0.001 of 2.002. drill = (2.001*0.5 + 0.001*0.5)/2.002 = 0.5; russia = 2.001*0.5/2.002.
    russia_expansion = 2.001 * 0.5 / 2.002
    total = 0.5 + russia_expansion
    assert set(mixed) == {"russia", "role", "drill"}
    assert mixed["role"] == pytest.approx(0.6 * 0.5)
    assert mixed["russia"] == pytest.approx(0.6 * 0.5 + 0.4 * russia_expansion / total)
    assert mixed["drill"] == pytest.approx(0.4 * 0.5 / total)
    assert sum(mixed.values()) == pytest.approx(1.0)
    assert relevance_feedback_terms(query, [], terms=5, weight=0.4) == query


def test_mmr_skips_a_near_duplicate() -> None:
    vectors = np.asarray([[1.0, 0.0], [0.999, 0.045], [0.0, 1.0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert maximal_marginal_relevance([1.0, 0.95, 0.5], vectors, count=2, lambda_=0.5) == [0, 2]
    assert maximal_marginal_relevance([1.0, 0.95, 0.5], vectors, count=2, lambda_=1.0) == [0, 1]


def _corpus() -> list[Document]:
    return [
        Document(id="drills", title="Drills", text="Russia held military drills in Tajikistan. The drills were large."),
        Document(id="talks", title="Talks", text="Diplomats met in Doha for troika talks. The talks were long."),
        Document(id="mines", title="Mines", text="China wants to mine lithium. Mining needs roads and peace."),
    ]


def test_hybrid_search_returns_components_and_the_right_passage(fake_collection: Collection) -> None:
    fake_collection.ingest(_corpus())
    [top, *_] = Retriever(fake_collection).search("military drills in Tajikistan")
    assert top.passage.document_id == "drills"
    assert top.components.dense_rank == 1 and top.components.lexical_rank == 1
    assert top.components.dense_score is not None and top.components.lexical_score is not None
    document = fake_collection.get_document(top.passage.document_id)
    assert document.text[top.passage.start : top.passage.end] == top.passage.text


@pytest.mark.parametrize("mode", ["dense", "lexical"])
def test_single_retriever_modes_leave_the_other_component_empty(fake_collection: Collection, mode: str) -> None:
    fake_collection.ingest(_corpus())
    results = Retriever(fake_collection, RetrievalSettings(mode=mode)).search("troika talks in Doha")  # type: ignore[arg-type]
    assert results[0].passage.document_id == "talks"
    if mode == "dense":
        assert all(r.components.lexical_rank is None for r in results)
    else:
        assert all(r.components.dense_rank is None for r in results)


def test_per_document_cap(fake_collection: Collection) -> None:
    long_text = " ".join(f"Drills in Tajikistan, part {n}, were reported by officials." for n in range(60))
    fake_collection.ingest([Document(id="long", title="Long", text=long_text), *_corpus()])
    uncapped = Retriever(fake_collection).search("drills Tajikistan", k=5)
    assert sum(r.passage.document_id == "long" for r in uncapped) > 1
    capped = Retriever(fake_collection, RetrievalSettings(max_per_document=1)).search("drills Tajikistan", k=5)
    ids = [r.passage.document_id for r in capped]
    assert len(ids) == len(set(ids))


def test_empty_question_and_empty_store_return_nothing(fake_collection: Collection) -> None:
    assert Retriever(fake_collection).search("anything") == []
    fake_collection.ingest(_corpus())
    assert Retriever(fake_collection).search("   ") == []


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="k must be"):
        RetrievalSettings(k=0)
    with pytest.raises(ValueError, match="dense_weight"):
        RetrievalSettings(dense_weight=1.5)
    with pytest.raises(ValueError, match="feedback_passages"):
        RetrievalSettings(feedback_passages=-1)


def test_feedback_finds_a_passage_that_shares_no_word_with_the_question(fake_collection: Collection) -> None:
    fake_collection.ingest(
        [
            Document(id="a", title="Drills", text="Drills near Termez involved Uzbek paratroopers and artillery."),
            Document(id="b", title="Paratroopers", text="Paratroopers and artillery trained at dawn."),
            Document(id="c", title="Weather", text="Rain fell on the capital all week."),
        ]
    )
    plain = RetrievalSettings(mode="lexical", feedback_passages=0)
    expanded = RetrievalSettings(mode="lexical", feedback_passages=1, feedback_weight=0.5)
    retriever = Retriever(fake_collection)
    assert [r.passage.document_id for r in retriever.search("Termez drills", settings=plain)] == ["a"]
    found = [r.passage.document_id for r in retriever.search("Termez drills", settings=expanded)]
    assert found[:2] == ["a", "b"] and "c" not in found


def test_opening_and_searching_leave_the_openmp_thread_count_alone(tmp_path: Path) -> None:
    import faiss

    # FAISS and PyTorch share libgomp's setting: left at 1, it halved the embedding model's throughput.
    before = faiss.omp_get_max_threads()
    collection = Collection(tmp_path / "s", embedder=FakeEmbedder())
    collection.ingest(_corpus())
    Retriever(collection).search("military drills")
    assert faiss.omp_get_max_threads() == before
    collection.close()


def test_common_terms_are_dropped_from_the_query_but_never_all_of_them() -> None:
    frequencies = {"cell": 600, "studi": 300, "lithium": 3}
    query = {"cell": 0.4, "lithium": 0.3, "studi": 0.3}

    def pruned(terms: dict[str, float], share: float | None, *, min_postings: int = 0) -> dict[str, float]:
        return without_common_terms(terms, frequencies, 1000, max_share=share, min_postings=min_postings)

    assert pruned(query, 0.5) == {"lithium": 0.3, "studi": 0.3}
    assert pruned(query, 0.2) == {"lithium": 0.3}
    assert pruned(query, None) == query
    assert pruned(query, 0.2, min_postings=400) == {"lithium": 0.3, "studi": 0.3}  # short lists always stay
    # Only common words: the rarest one stays, so the question still finds something.
    assert pruned({"cell": 0.5, "studi": 0.5}, 0.1) == {"studi": 0.5}


def test_pruning_keeps_the_exact_scores_of_a_query_without_common_terms(
    fake_collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrieval, "_SHORT_POSTING_LIST", 0)  # a tiny collection: prune by share alone
    common = " ".join(f"Common words fill passage {n} about drills." for n in range(3))
    fake_collection.ingest(
        [Document(id=f"d{n}", title=f"Doc {n}", text=f"{common} Rare word {word}.") for n, word in enumerate("xyz")]
        + _corpus()
    )
    pruned = RetrievalSettings(mode="lexical", feedback_passages=0, max_term_share=0.4)
    full = replace(pruned, max_term_share=None)
    retriever = Retriever(fake_collection)
    # "common" is in half the passages and gets dropped; "tajikistan" is rare and kept at its weight (0.5).
    with_common = retriever.search("common tajikistan", settings=pruned)
    without_common = retriever.search("tajikistan", settings=full)
    assert [r.passage.id for r in with_common] == [r.passage.id for r in without_common] == ["drills#0"]
    assert with_common[0].score == pytest.approx(0.5 * without_common[0].score, rel=1e-6)
    assert [r.passage.document_id for r in retriever.search("common tajikistan", settings=full)][0] == "drills"


def test_zscore_fusion_matches_a_row_by_row_reference() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        dense_rows = rng.permutation(3000)[: int(rng.integers(1, 400))]
        lexical_rows = rng.permutation(3000)[: int(rng.integers(1, 400))]
        dense = ranked(dense_rows.tolist(), np.sort(rng.random(len(dense_rows)))[::-1].tolist())
        lexical = ranked(lexical_rows.tolist(), np.sort(rng.random(len(lexical_rows)) * 9)[::-1].tolist())
        reference: dict[int, float] = {}
        z = {}
        for name, one in (("dense", dense), ("lexical", lexical)):
            scores = one.scores.astype(np.float64)
            spread = scores.std() if scores.std() > 1e-12 else 1.0
            z[name] = (
                {int(r): (s - scores.mean()) / spread for r, s in zip(one.rowids, scores, strict=True)},
                (scores.min() - scores.mean()) / spread,
            )
        for rowid in set(dense_rows.tolist()) | set(lexical_rows.tolist()):
            d_z = z["dense"][0].get(rowid, z["dense"][1])
            l_z = z["lexical"][0].get(rowid, z["lexical"][1])
            reference[rowid] = 0.45 * d_z + 0.55 * l_z
        fused = zscore_fusion(dense, lexical, dense_weight=0.45)
        expected = sorted(reference, key=lambda rowid: (-reference[rowid], rowid))
        assert fused.rowids.tolist() == expected
        np.testing.assert_allclose(fused.scores, [reference[r] for r in expected], rtol=0, atol=1e-12)


def test_a_hybrid_search_adds_up_bm25_while_the_dense_side_is_still_embedding(
    fake_collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_collection.ingest(_corpus())
    sequential = Retriever(fake_collection).search("military drills in Tajikistan")
    bm25_started = threading.Event()
    searching_thread = threading.get_ident()
    embedded_on: list[int] = []
    embed_query = fake_collection.embedder.embed_query
    lexical_search = fake_collection.lexical_search

    def slow_embedding(text: str) -> np.ndarray:
        embedded_on.append(threading.get_ident())
        # Run one after the other, the BM25 side would start only after this returned: it never would.
        assert bm25_started.wait(timeout=10), "BM25 did not run while the query was being embedded"
        return embed_query(text)

    def noted_lexical_search(terms: dict[str, float], n: int) -> tuple[np.ndarray, np.ndarray]:
        bm25_started.set()
        return lexical_search(terms, n)

    monkeypatch.setattr(fake_collection.embedder, "embed_query", slow_embedding)
    monkeypatch.setattr(fake_collection, "lexical_search", noted_lexical_search)
    side_by_side = Retriever(fake_collection).search("military drills in Tajikistan")
    assert embedded_on and embedded_on[0] != searching_thread
    assert [(r.passage.id, r.score) for r in side_by_side] == [(r.passage.id, r.score) for r in sequential]


def test_a_failing_dense_side_fails_the_search(fake_collection: Collection, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_collection.ingest(_corpus())

    def broken(text: str) -> np.ndarray:
        raise RuntimeError("the embedding model is gone")

    monkeypatch.setattr(fake_collection.embedder, "embed_query", broken)
    with pytest.raises(RuntimeError, match="embedding model is gone"):
        Retriever(fake_collection).search("military drills")


def test_a_slow_vector_search_does_not_hold_up_bm25(
    fake_collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_collection.ingest(_corpus())
    dense = fake_collection._dense
    assert dense is not None
    release = threading.Event()
    search = dense.search

    def slow_search(query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        release.wait(timeout=10)
        return search(query, n)

    monkeypatch.setattr(dense, "search", slow_search)
    vector = fake_collection.embedder.embed_query("drills")
    waiting = threading.Thread(target=fake_collection.dense_search, args=(vector, 3))
    waiting.start()
    try:
        finished = threading.Event()

        def search_bm25() -> None:
            fake_collection.lexical_search({"drill": 1.0}, 3)
            finished.set()

        threading.Thread(target=search_bm25).start()
        assert finished.wait(timeout=5), "BM25 waited for the vector search"
    finally:
        release.set()
        waiting.join()


def test_a_forked_process_gets_its_own_search_threads(fake_collection: Collection) -> None:
    fake_collection.ingest(_corpus())
    Retriever(fake_collection).search("military drills")  # the parent's pool now exists, its threads started
    child = os.fork()
    if child == 0:  # the child: its search must not wait for the parent's threads, which it does not have
        try:
            found = Retriever(fake_collection).search("military drills")
            os._exit(0 if found and found[0].passage.document_id == "drills" else 1)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        finished, status = os.waitpid(child, os.WNOHANG)
        if finished:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    pytest.fail("the forked process's search never finished")
