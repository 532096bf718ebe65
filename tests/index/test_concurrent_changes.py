"""Lookups that race a delete: a passage removed between search and lookup is skipped, never misaligned."""

from __future__ import annotations

from collections import Counter

import numpy as np

from index import Collection, Document, Retriever
from index.lexical_index import Bm25Index
from index.retrieval import RetrievalSettings
from index.vector_index import FaissVectorIndex


def test_term_frequencies_line_up_with_the_row_ids_asked_for() -> None:
    index = Bm25Index()
    index.add(np.asarray([1, 2, 3]), ["owl owl", "heron", "zebra"])
    index.remove(np.asarray([2]))
    assert index.term_frequencies(np.asarray([3, 2, 1])) == [Counter({"zebra": 1}), Counter(), Counter({"owl": 2})]


def test_vectors_of_removed_rows_are_zero_not_another_rows() -> None:
    index = FaissVectorIndex(2)
    index.add(np.asarray([10, 20, 30]), np.asarray([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32))
    index.remove(np.asarray([20]))
    found = index.vectors_for(np.asarray([30, 20, 99, 10]))
    assert np.allclose(found, np.asarray([[0.6, 0.8], [0, 0], [0, 0], [1, 0]]))


class _DeletingCollection:
    """Deletes a document between the first retrieval pass and the relevance feedback, as a request might."""

    def __init__(self, collection: Collection, victim: str) -> None:
        self._collection = collection
        self._victim = victim

    def __getattr__(self, name: str) -> object:
        return getattr(self._collection, name)

    def term_frequencies(self, rowids: np.ndarray) -> list[Counter[str]]:
        if self._victim in {d.id for d in self._collection.list_documents()}:
            self._collection.delete(self._victim)
        return self._collection.term_frequencies(rowids)


def test_a_delete_during_retrieval_drops_the_document_instead_of_failing(fake_collection: Collection) -> None:
    fake_collection.ingest(
        [
            Document(id="owls", title="Owls", text="Owls hunt voles at night in the Oslo forest."),
            Document(id="herons", title="Herons", text="Herons hunt fish at dawn by the Oslo river."),
        ]
    )
    racing = _DeletingCollection(fake_collection, "owls")
    settings = RetrievalSettings(feedback_passages=3, mmr_lambda=0.5)
    results = Retriever(racing, settings).search("what do owls and herons hunt in Oslo?")  # type: ignore[arg-type]
    assert [r.passage.document_id for r in results] == ["herons"]
