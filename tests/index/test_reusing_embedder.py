"""The embedder the store's repair and the SciFact benchmark share: known vectors come back, the rest is embedded."""

from __future__ import annotations

import hashlib

import numpy as np

from index.reusing_embedder import ReusingEmbedder
from tests.fakes import FakeEmbedder


def test_known_texts_reuse_their_vectors_and_the_rest_are_embedded_once() -> None:
    inner = FakeEmbedder()
    planted = np.eye(1, inner.dimension, 5, dtype=np.float32)[0]
    reusing = ReusingEmbedder(inner, {"owls vote": planted})
    vectors = reusing.embed_passages(["owls vote", "herons nest", "herons nest"])
    assert np.array_equal(vectors[0], planted)
    assert np.array_equal(vectors[1], inner.embed_passages(["herons nest"])[0])
    assert np.array_equal(vectors[1], vectors[2])
    assert (reusing.reused, reusing.embedded) == (1, 2)
    assert inner.calls == 2  # one call for the two new passages, one above for the comparison
    again = reusing.embed_passages(["herons nest"])
    assert np.array_equal(again[0], vectors[1]) and reusing.reused == 2 and inner.calls == 2


def test_vectors_of_another_size_are_embedded_again() -> None:
    inner = FakeEmbedder(dimension=8)
    reusing = ReusingEmbedder(inner, {"owls vote": np.ones(16, dtype=np.float32)})
    vectors = reusing.embed_passages(["owls vote"])
    assert vectors.shape == (1, 8) and (reusing.reused, reusing.embedded) == (0, 1)
    assert reusing.embed_passages([]).shape == (0, 8)


def test_vectors_can_be_kept_under_another_key() -> None:
    def digest(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    reusing = ReusingEmbedder(FakeEmbedder(), key=digest)
    reusing.embed_passages(["owls vote"])
    assert list(reusing.known) == [digest("owls vote")]
