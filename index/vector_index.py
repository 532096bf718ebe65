"""Dense search over passage vectors with FAISS, keyed by the store's passage row ids."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from index.embedding import Vectors
from index.threads import thread_counts

IndexKind = Literal["flat", "hnsw"]
RowIds = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]

# Neighbours per HNSW node and search breadth: FAISS's usual defaults, good recall at 1e5 vectors.
_HNSW_NEIGHBOURS = 32
_HNSW_EF_SEARCH = 128
# The flat scan reads half-precision copies and asks for this many more rows than wanted (at least 16), then
# scores those exactly: half-precision rounding (about 1e-3 on a cosine) can only swap rows at the edge of the
# shortlist, and the margin keeps them in it.
_SHORTLIST_MARGIN = 0.25
_SHORTLIST_MINIMUM_EXTRA = 16
# Above `exact_up_to` vectors the flat kind finds its shortlist with an inverted file (IVF) over half-precision
# copies, then re-scores it exactly as before: ~sqrt(N) k-means cells, trained on a fixed sample, and this
# share of them visited per query. Half, because of SciFact's real embeddings (13,134 passages, 114 cells; the
# IVF forced on): visiting an eighth found 0.936 of each exact top 10 and 0.684 of the top 1000, and hybrid
# nDCG@10 fell from 0.744 to 0.725; a quarter found 0.974 and 0.840; half 0.995 and 0.969.
_IVF_PROBED_SHARE = 1 / 2
_IVF_MINIMUM_PROBES = 16
_IVF_TRAINING_PER_CELL = 40
_IVF_TRAINING_ROUNDS = 10


class VectorIndex(Protocol):
    """Nearest-neighbour search over vectors identified by passage row ids."""

    def __len__(self) -> int: ...

    def add(self, rowids: RowIds, vectors: Vectors) -> None: ...

    def remove(self, rowids: RowIds) -> None: ...

    def search(self, query: Vectors, n: int) -> tuple[RowIds, Scores]: ...


def build_parameters(*, kind: IndexKind, exact_up_to: int | None) -> dict[str, object]:
    """Everything besides the vectors that decides what a `FaissVectorIndex` holds, to tag a saved copy with."""
    return {
        "kind": kind,
        "exact_up_to": exact_up_to,
        "shortlist": [_SHORTLIST_MARGIN, _SHORTLIST_MINIMUM_EXTRA],
        "ivf": [_IVF_PROBED_SHARE, _IVF_MINIMUM_PROBES, _IVF_TRAINING_PER_CELL, _IVF_TRAINING_ROUNDS],
        "hnsw": [_HNSW_NEIGHBOURS, _HNSW_EF_SEARCH],
    }


@contextmanager
def faiss_threads(threads: int | None = None) -> Iterator[None]:
    """Run FAISS on `threads` OpenMP threads (index/threads.py's search count by default), then restore the count.

    Restoring matters because FAISS and PyTorch share libgomp's setting: left at 1, it halved the embedding
    model's throughput.
    """
    import faiss

    if threads is None:
        threads = thread_counts().search
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


class FaissVectorIndex:
    """Inner-product search (cosine on normalised vectors): exact by default, HNSW for large corpora.

    "flat" scans every vector, in half precision, and re-scores its shortlist in full precision: the scan is
    bound by memory bandwidth (a 1e5-passage float32 scan took 12 ms on one core, half precision 5 ms), and the
    re-scoring makes the returned scores exact. Past `exact_up_to` vectors (None: never) it finds the shortlist
    with an inverted file instead, visiting half of its cells: the scores stay exact, but a row outside
    the visited cells can be missed. "hnsw" is approximate, with FAISS's own scores.
    """

    def __init__(self, dimension: int, *, kind: IndexKind = "flat", exact_up_to: int | None = None) -> None:
        self.dimension = dimension
        self.kind: IndexKind = kind
        self.exact_up_to = exact_up_to
        self._rowids: RowIds = np.zeros(0, dtype=np.int64)
        self._vectors: Vectors = np.zeros((0, dimension), dtype=np.float32)
        self._index = self._new_faiss_index()
        # How many vectors the inverted file (see `_IVF_PROBED_SHARE`) was trained on; 0 while scanning.
        self._cells_trained_on = 0
        self._lock = threading.RLock()

    @property
    def approximate(self) -> bool:
        """Whether a flat index finds its shortlist with the inverted file rather than by scanning every vector."""
        return self._cells_trained_on > 0

    def __len__(self) -> int:
        return int(self._rowids.shape[0])

    @property
    def ntotal(self) -> int:
        """How many vectors FAISS itself holds, to check against the passage count."""
        return int(self._index.ntotal)

    def add(self, rowids: RowIds, vectors: Vectors) -> None:
        """Add vectors under their passage row ids."""
        if len(rowids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(rowids), self.dimension):
            raise ValueError(f"expected {len(rowids)} vectors of dimension {self.dimension}, got {vectors.shape}")
        with self._lock:
            self._rowids = np.concatenate([self._rowids, rowids.astype(np.int64)])
            self._vectors = np.concatenate([self._vectors, vectors])
            trained_recently = 0 < self._cells_trained_on and len(self._rowids) < 2 * self._cells_trained_on
            if self._wants_cells() and not trained_recently:
                # First past the threshold, or doubled since the cells were trained: train them again.
                self._index = self._trained_cells()
            else:
                self._index.add(vectors)

    def remove(self, rowids: RowIds) -> None:
        """Remove vectors by row id; the FAISS index is rebuilt from the vectors that remain."""
        if len(rowids) == 0:
            return
        with self._lock:
            keep = ~np.isin(self._rowids, rowids)
            self._rowids = self._rowids[keep]
            self._vectors = np.ascontiguousarray(self._vectors[keep])
            if self._wants_cells() and self._cells_trained_on:
                self._index.reset()  # positions moved: refill the trained cells
            else:
                self._index, self._cells_trained_on = self._new_faiss_index(), 0
            if len(self._rowids):
                self._index.add(self._vectors)

    def search(self, query: Vectors, n: int) -> tuple[RowIds, Scores]:
        """The `n` nearest row ids with their inner-product scores, best first."""
        with self._lock:
            n = min(n, len(self._rowids))
            if n <= 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
            if self.kind == "hnsw":
                with faiss_threads():
                    scores, positions = self._index.search(query, n)
                found = positions[0] >= 0
                return self._rowids[positions[0][found]], scores[0][found].astype(np.float32)
            shortlist = min(len(self._rowids), n + max(_SHORTLIST_MINIMUM_EXTRA, int(n * _SHORTLIST_MARGIN)))
            with faiss_threads():
                _, positions = self._index.search(query, shortlist)
            candidates = positions[0][positions[0] >= 0]
            # einsum, not `@`: a matrix-vector product goes to multi-threaded BLAS, whose threads cost 0.6 ms
            # to wake for a 1e3-row product (5x the product itself), more when the cores are busy.
            exact = np.einsum("ij,j->i", self._vectors[candidates], query[0])
            best = np.lexsort((candidates, -exact))[:n]
            return self._rowids[candidates[best]], exact[best].astype(np.float32)

    def parts(self) -> tuple[RowIds, Vectors, Any, int]:
        """Row ids, full-precision vectors, the FAISS index and the inverted file's training size, for saving."""
        with self._lock:
            return self._rowids, self._vectors, self._index, self._cells_trained_on

    @classmethod
    def from_parts(
        cls,
        rowids: RowIds,
        vectors: Vectors,
        faiss_index: Any,
        *,
        cells_trained_on: int,
        kind: IndexKind,
        exact_up_to: int | None,
    ) -> FaissVectorIndex:
        """An index restored from saved parts (see `parts`), without adding or training anything."""
        index = cls(vectors.shape[1], kind=kind, exact_up_to=exact_up_to)
        if faiss_index.ntotal != len(rowids) or len(vectors) != len(rowids) or faiss_index.d != vectors.shape[1]:
            raise ValueError("the saved FAISS index, vectors and row ids do not line up")
        index._rowids, index._vectors, index._index = rowids, vectors, faiss_index
        index._cells_trained_on = cells_trained_on
        return index

    def vectors_for(self, rowids: RowIds) -> Vectors:
        """The stored vectors of the given row ids, in that order (for diversity re-ranking).

        A row id removed since it was found (by a concurrent delete) gets a zero vector, not another row's.
        """
        with self._lock:
            found = np.zeros((len(rowids), self.dimension), dtype=np.float32)
            if len(self._rowids) == 0 or len(rowids) == 0:
                return found
            order = np.argsort(self._rowids)
            slots = np.minimum(np.searchsorted(self._rowids, rowids, sorter=order), len(order) - 1)
            places = order[slots]
            present = self._rowids[places] == rowids
            found[present] = self._vectors[places[present]]
            return found

    def _wants_cells(self) -> bool:
        return self.kind == "flat" and self.exact_up_to is not None and len(self._rowids) > self.exact_up_to

    def _trained_cells(self) -> Any:
        """An inverted file over half-precision copies of every vector, trained on a fixed sample of them."""
        import faiss

        count = len(self._rowids)
        cells = max(16, int(np.sqrt(count)))
        coarse = faiss.IndexFlatIP(self.dimension)
        index = faiss.IndexIVFScalarQuantizer(
            coarse, self.dimension, cells, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        # k-means for 10 rounds, not FAISS's 25: the cells only route the search (the shortlist is re-scored),
        # and training is part of opening a store past the threshold.
        index.cp.niter = _IVF_TRAINING_ROUNDS
        # A fixed sample: the same vectors give the same cells on every open.
        sample = np.random.default_rng(0).choice(count, min(count, cells * _IVF_TRAINING_PER_CELL), replace=False)
        index.train(self._vectors[np.sort(sample)])
        index.add(self._vectors)
        index.nprobe = min(cells, max(_IVF_MINIMUM_PROBES, int(cells * _IVF_PROBED_SHARE)))
        self._cells_trained_on = count
        return index

    def _new_faiss_index(self) -> Any:
        import faiss

        if self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dimension, _HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = _HNSW_EF_SEARCH
            return index
        return faiss.IndexScalarQuantizer(self.dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
