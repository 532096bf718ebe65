"""Shared fixtures: a temporary data directory, the bundled corpus, and collections on fake models; and the skip
of `live_llm` tests when no provider key is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import Collection, CollectionSettings, Document, load_paths
from service.settings import get_settings
from tests.fakes import FakeEmbedder

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = PROJECT_ROOT / "corpus"
SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture
def bundled_documents() -> list[Document]:
    """The two bundled demo articles."""
    return load_paths([str(BUNDLED_CORPUS)])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data directory that the settings point at."""
    data = tmp_path / "footnote-home"
    monkeypatch.setenv("FOOTNOTE_HOME", str(data))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


@pytest.fixture
def fake_collection(tmp_path: Path) -> Iterator[Collection]:
    """An empty collection on the fake embedder."""
    collection = Collection(tmp_path / "store", embedder=FakeEmbedder(), settings=CollectionSettings())
    yield collection
    collection.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `live_llm` need a hosted provider's key: without FOOTNOTE_LLM_API_KEY they are skipped."""
    if os.environ.get("FOOTNOTE_LLM_API_KEY"):
        return
    skip = pytest.mark.skip(reason="needs a hosted LLM provider: set FOOTNOTE_LLM_API_KEY (and FOOTNOTE_MODEL)")
    for item in items:
        if item.get_closest_marker("live_llm"):
            item.add_marker(skip)
