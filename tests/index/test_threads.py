"""The thread policy: one count per library, from the cores this process may use."""

from __future__ import annotations

import faiss
import pytest

from index.threads import ThreadCounts, available_cores, thread_counts
from index.vector_index import faiss_threads


@pytest.mark.parametrize(
    ("cores", "expected"),
    [
        (1, ThreadCounts(embedding=1, search=1, llama=1)),
        (2, ThreadCounts(embedding=2, search=1, llama=1)),  # llama.cpp leaves the rest of the process a core
        (32, ThreadCounts(embedding=32, search=1, llama=8)),  # llama.cpp is memory-bound past a few cores
    ],
)
def test_policy_by_core_count(cores: int, expected: ThreadCounts) -> None:
    assert thread_counts(cores) == expected


def test_default_is_the_cores_this_process_may_use() -> None:
    assert thread_counts() == thread_counts(available_cores())
    with pytest.raises(ValueError, match="cores"):
        thread_counts(0)


def test_faiss_runs_searches_on_the_policy_count_and_restores_the_previous_one() -> None:
    faiss.omp_set_num_threads(2)
    try:
        with faiss_threads():
            assert faiss.omp_get_max_threads() == thread_counts().search
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(available_cores())
