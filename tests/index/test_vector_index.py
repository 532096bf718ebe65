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
