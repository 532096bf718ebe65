"""The dense index against FAISS's exact scan: same rows, same order, full-precision scores."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from index.embedding import Vectors
from index.vector_index import FaissVectorIndex


def unit_vectors(rng: np.random.Generator, count: int, dimension: int = 64) -> Vectors:
    vectors: Vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


@pytest.mark.parametrize("wanted", [1, 6, 300])
def test_flat_search_finds_the_exact_best_rows_with_full_precision_scores(wanted: int) -> None:
    rng = np.random.default_rng(7)
    vectors = unit_vectors(rng, 5000)
    rowids = np.arange(1000, 6000, dtype=np.int64)
    index = FaissVectorIndex(64)
    index.add(rowids, vectors)
    for query in unit_vectors(rng, 20):
        # The truth in double precision: rows whose scores differ by float32 rounding may trade places.
        truth = vectors.astype(np.float64) @ query.astype(np.float64)
        best_scores = np.sort(truth)[::-1][:wanted]
        found, scores = index.search(query, wanted)
        assert len(set(found.tolist())) == wanted
        np.testing.assert_allclose(truth[found - 1000], best_scores, rtol=0, atol=1e-6)
        np.testing.assert_allclose(scores, best_scores, rtol=0, atol=1e-6)


def test_flat_search_agrees_with_faiss_exact_scan_on_the_top_rows() -> None:
    rng = np.random.default_rng(11)
    vectors = unit_vectors(rng, 2000)
    index = FaissVectorIndex(64)
    index.add(np.arange(2000, dtype=np.int64), vectors)
    exact = faiss.IndexFlatIP(64)
    exact.add(vectors)
    for query in unit_vectors(rng, 20):
        _, expected = exact.search(query[None, :], 6)
        found, _ = index.search(query, 6)
        assert found.tolist() == expected[0].tolist()


def test_flat_search_of_more_rows_than_stored_returns_all_best_first() -> None:
    rng = np.random.default_rng(8)
    index = FaissVectorIndex(64)
    index.add(np.asarray([5, 9, 2], dtype=np.int64), unit_vectors(rng, 3))
    query = unit_vectors(rng, 1)[0]
    found, scores = index.search(query, 10)
    assert sorted(found.tolist()) == [2, 5, 9]
    assert scores.tolist() == sorted(scores.tolist(), reverse=True)


def test_removed_rows_are_never_found() -> None:
    rng = np.random.default_rng(9)
    vectors = unit_vectors(rng, 50)
    index = FaissVectorIndex(64)
    index.add(np.arange(50, dtype=np.int64), vectors)
    index.remove(np.asarray([0, 1, 2], dtype=np.int64))
    found, _ = index.search(vectors[0], 50)
    assert len(found) == 47 and not {0, 1, 2} & set(found.tolist())
    assert index.ntotal == 47


def clustered_vectors(rng: np.random.Generator, count: int, *, clusters: int = 100, dimension: int = 64) -> Vectors:
    """Unit vectors around random centres, as real embeddings are: an inverted file's cells follow them."""
    centres = unit_vectors(rng, clusters, dimension)
    vectors: Vectors = centres[rng.integers(0, clusters, count)] + 0.35 * unit_vectors(rng, count, dimension)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def test_past_the_threshold_the_shortlist_comes_from_cells_with_exact_scores_and_measured_recall() -> None:
    rng = np.random.default_rng(12)
    vectors = clustered_vectors(rng, 20_000)
    rowids = np.arange(100, 20_100, dtype=np.int64)
    exact, cells = FaissVectorIndex(64), FaissVectorIndex(64, exact_up_to=10_000)
    exact.add(rowids, vectors)
    cells.add(rowids, vectors)
    assert cells.approximate and not exact.approximate
    recalls = {10: [], 1000: []}  # type: dict[int, list[float]]
    for query in clustered_vectors(rng, 30):
        for wanted, found_share in recalls.items():
            truth, _ = exact.search(query, wanted)
            found, scores = cells.search(query, wanted)
            # Every score returned is the row's exact score, best first (not the half-precision one).
            np.testing.assert_allclose(scores, vectors[found - 100] @ query, rtol=0, atol=1e-6)
            assert np.all(np.diff(scores) <= 0)
            found_share.append(len(set(found.tolist()) & set(truth.tolist())) / wanted)
    # Recall against the exact scan, measured: half of the cells visited.
    assert np.mean(recalls[10]) >= 0.95
    assert np.mean(recalls[1000]) >= 0.85


def test_cells_follow_additions_and_removals_and_go_below_the_threshold() -> None:
    rng = np.random.default_rng(13)
    vectors = clustered_vectors(rng, 3000)
    index = FaissVectorIndex(64, exact_up_to=1000)
    index.add(np.arange(900, dtype=np.int64), vectors[:900])
    assert not index.approximate
    index.add(np.arange(900, 1500, dtype=np.int64), vectors[900:1500])  # past the threshold: cells trained
    assert index.approximate and index.ntotal == 1500
    index.add(np.arange(1500, 3000, dtype=np.int64), vectors[1500:])  # doubled: trained again, every row held
    assert index.ntotal == 3000
    found, _ = index.search(vectors[2999], 1)
    assert found.tolist() == [2999]  # a row added after training is found
    index.remove(np.arange(0, 2500, dtype=np.int64))
    assert not index.approximate and index.ntotal == 500  # back under the threshold: an exact scan again
    found, scores = index.search(vectors[2600], 500)
    assert sorted(found.tolist()) == list(range(2500, 3000))
    assert found[0] == 2600 and scores[0] == pytest.approx(1.0, abs=1e-6)
