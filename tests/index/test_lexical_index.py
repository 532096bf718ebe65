"""The BM25 index: removals hide passages at once, rebuilds happen outside the lock and give fresh scores."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from index import lexical_index
from index.lexical_index import Bm25Index

TEXTS = ["owl oslo curfew night", "heron lake nest spring", "owl forest night hunt", "zebra council nairobi"]


def index_of(texts: list[str], start: int = 0) -> Bm25Index:
    index = Bm25Index()
    index.add(np.arange(start, start + len(texts), dtype=np.int64), texts)
    index.refresh()
    return index


def scores_by_row(index: Bm25Index, terms: dict[str, float]) -> dict[int, float]:
    rowids, scores = index.score_all(terms)
    return {int(r): float(s) for r, s in zip(rowids, scores, strict=True) if s > 0}


def test_a_removed_passage_is_never_returned_even_before_the_rebuild() -> None:
    index = index_of(TEXTS)
    assert set(scores_by_row(index, {"owl": 1.0})) == {0, 2}
    index.remove(np.asarray([2], dtype=np.int64))
    assert set(scores_by_row(index, {"owl": 1.0})) == {0}
    index.refresh()
    assert set(scores_by_row(index, {"owl": 1.0})) == {0}


def test_refresh_gives_the_scores_of_an_index_built_from_scratch() -> None:
    index = index_of(TEXTS)
    index.add(np.asarray([10, 11], dtype=np.int64), ["owl owl barn", "lake heron grey"])
    index.remove(np.asarray([1], dtype=np.int64))
    index.refresh()
    fresh = Bm25Index()
    fresh.add(
        np.asarray([0, 2, 3, 10, 11], dtype=np.int64), [TEXTS[0], TEXTS[2], TEXTS[3], "owl owl barn", "lake heron grey"]
    )
    for terms in ({"owl": 1.0}, {"heron": 1.0, "lake": 0.5}, {"night": 2.0}):
        assert scores_by_row(index, terms) == pytest.approx(scores_by_row(fresh, terms))
    assert index.document_frequencies(["owl", "heron", "absent"]) == {"owl": 3, "heron": 1, "absent": 0}


def test_searches_do_not_wait_for_a_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    index = index_of(TEXTS)
    building = threading.Event()
    release = threading.Event()
    original = lexical_index._BuiltIndex

    class SlowBuild(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            building.set()
            release.wait(timeout=10)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(lexical_index, "_BuiltIndex", SlowBuild)
    index.add(np.asarray([20], dtype=np.int64), ["owl owl owl"])
    rebuild = threading.Thread(target=index.refresh)
    rebuild.start()
    try:
        assert building.wait(timeout=10)
        assert set(scores_by_row(index, {"owl": 1.0})) == {0, 2}, "the previous index answers meanwhile"
    finally:
        release.set()
        rebuild.join(timeout=10)
    assert set(scores_by_row(index, {"owl": 1.0})) == {0, 2, 20}


def test_passages_without_a_single_term_leave_an_empty_index_not_an_error() -> None:
    index = index_of(["", ""])  # only punctuation or stop words, once tokenised
    assert scores_by_row(index, {"owl": 1.0}) == {}
    assert index.document_frequencies(["owl"]) == {"owl": 0}
    index.add(np.asarray([5], dtype=np.int64), ["owl night"])
    index.refresh()
    assert set(scores_by_row(index, {"owl": 1.0})) == {5}


def test_top_n_is_the_head_of_the_full_ranking_ties_by_row_id() -> None:
    rng = np.random.default_rng(4)
    for _ in range(50):
        count = int(rng.integers(1, 400))
        rowids = rng.permutation(10 * count)[:count].astype(np.int64)
        # Few distinct values, many zeros: ties at the cut and passages without a match.
        scores = rng.choice(np.asarray([0.0, 0.0, 0.5, 1.0, 1.5, 2.0], dtype=np.float32), count)
        wanted = int(rng.integers(1, count + 5))
        found, found_scores = lexical_index.top_n(rowids, scores, wanted)
        order = np.lexsort((rowids, -scores))
        positive = order[scores[order] > 0][:wanted]
        assert found.tolist() == rowids[positive].tolist()
        assert found_scores.tolist() == scores[positive].tolist()


def test_top_n_of_many_scores_cuts_at_a_sampled_score_and_stays_exact() -> None:
    rng = np.random.default_rng(9)
    taken = 0
    for _ in range(30):
        count = int(rng.integers(20_000, 300_000))
        rowids = rng.permutation(count).astype(np.int64)
        # Rounded BM25-like scores: long runs of equal values, and a share of passages without a match.
        scores = np.round(rng.gamma(2.0, 2.0, count), 1).astype(np.float32)
        scores[rng.random(count) < rng.uniform(0.0, 0.99)] = 0.0
        wanted = int(rng.choice([1, 6, 100, 1000, 5000]))
        taken += lexical_index._likely_best(scores, wanted) is not None
        found, found_scores = lexical_index.top_n(rowids, scores, wanted)
        order = np.lexsort((rowids, -scores))
        positive = order[scores[order] > 0][:wanted]
        assert found.tolist() == rowids[positive].tolist()
        assert found_scores.tolist() == scores[positive].tolist()
    assert taken >= 15  # most searches took the sampled cut, so it is what was checked


def test_built_scores_are_bm25s_lucene_scores() -> None:
    import bm25s

    rng = np.random.default_rng(6)
    words = [f"w{n}" for n in range(300)]
    weights = 1.0 / np.arange(1, 301)
    # Zipf-like passages of varied length, repeats within a passage, and one passage with no tokens at all.
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 60)), p=weights / weights.sum())) for _ in range(400)]
    texts[17] = ""
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index([text.split() for text in texts], show_progress=False)
    index = Bm25Index(k1=1.2, b=0.75)
    index.add(np.arange(400, dtype=np.int64), texts)
    index.refresh()
    for term in ("w0", "w3", "w50", "w299"):
        rowids, scores = index.score_all({term: 1.0})
        expected = reference.get_scores([term]) if term in reference.vocab_dict else np.zeros(400)
        assert rowids.tolist() == list(range(400))
        np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=0)
    assert index.document_frequencies(["w0", "absent"])["absent"] == 0
    assert index.document_frequencies(["w0"])["w0"] == sum("w0" in text.split() for text in texts)
