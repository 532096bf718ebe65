"""Apps on fake models for fast API tests: the real routes, middleware and limits, over a fake collection."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from index import Collection, CollectionSettings, RetrievalSettings, Retriever, load_paths
from service.answering.errors import LLMError
from service.answering.llm import Completion, Message
from service.answering.pipeline import Answerer, AnsweringSettings
from service.answering.support import HeuristicSupportScorer
from service.http.app import create_app
from service.http.state import AppState, Resources
from service.settings import Settings
from tests.conftest import BUNDLED_CORPUS
from tests.fakes import FakeChatModel, FakeEmbedder

CANONICAL = "why is Russia expanding its role?"
GREAT_POWER = "Russia’s diplomatic activities in Afghanistan reinforce its great power status"
_PROMPT_PASSAGE = re.compile(
    r"^Document \[(\d+)\][^\n]*\n(.*?)(?=^Document \[|^Question:|\Z)", re.MULTILINE | re.DOTALL
)
# The fake embedder's similarities run higher than the real model's; these thresholds suit it.
FAKE_ANSWERING = AnsweringSettings(k=6, support_threshold=0.75, relevance_threshold=0.3)
ADMIN_KEY = "admin-secret-key"
SITE_KEY = "site-public-key"
SITE_ORIGIN = "https://news.example"


class FailingChatModel(FakeChatModel):
    """A provider that is down."""

    def __init__(self, error: LLMError) -> None:
        super().__init__([])
        self.error = error

    def complete(self, messages: Sequence[Message]) -> Completion:
        raise self.error

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        raise self.error


def settings_for(home: Path, **overrides: Any) -> Settings:
    """Settings for a test app; limits are generous unless a test tightens them."""
    values: dict[str, Any] = {
        "home": home,
        "rate_limit_per_minute": 10_000,
        "rate_limit_per_address": 10_000,
        **overrides,
    }
    return Settings(**values)


def fake_factory(chat_model: FakeChatModel | None, *, embedder: FakeEmbedder | None = None) -> Any:
    """A resources factory serving the bundled articles on the fake embedder and the given chat model."""

    def factory(settings: Settings) -> Resources:
        collection = Collection(settings.home, embedder=embedder or FakeEmbedder(), settings=CollectionSettings())
        if collection.count_documents() == 0:
            collection.ingest(load_paths([str(BUNDLED_CORPUS)]))
        mode = "generate" if chat_model is not None else "extractive"
        answerer = Answerer(
            retriever=Retriever(collection, RetrievalSettings()),
            scorer=HeuristicSupportScorer(collection.embedder),
            chat_model=chat_model,
            settings=AnsweringSettings(**{**FAKE_ANSWERING.__dict__, "mode": mode}),
        )
        return Resources(collection=collection, answerer=answerer)

    return factory


def make_app(
    home: Path, *, chat_model: FakeChatModel | None = None, embedder: FakeEmbedder | None = None, **overrides: Any
) -> FastAPI:
    """An app on fake models with the given setting overrides."""
    return create_app(settings_for(home, **overrides), resources_factory=fake_factory(chat_model, embedder=embedder))


def state_of(client: TestClient) -> AppState:
    """The app state behind a test client."""
    app: Any = client.app
    state: AppState = app.state.footnote
    return state


def sse_events(body: str) -> list[tuple[str | None, str]]:
    """(event name, data) pairs of a Server-Sent Events body."""
    events = []
    for block in body.strip().split("\n\n"):
        name = re.search(r"^event: (.*)$", block, re.MULTILINE)
        data = re.search(r"^data: (.*)$", block, re.MULTILINE)
        if data is not None:
            events.append((name.group(1) if name else None, data.group(1)))
    return events


class QuotingChatModel(FakeChatModel):
    """Drafts one faithful sentence, citing the prompt passage that contains `needle`, plus an unsupported one."""

    def __init__(self, needle: str, *, unsupported: str = "") -> None:
        super().__init__([])
        self.needle = needle
        self.unsupported = unsupported

    def complete(self, messages: Sequence[Message]) -> Completion:
        self.prompts.append(list(messages))
        prompt = messages[-1]["content"]
        markers = [int(block.group(1)) for block in _PROMPT_PASSAGE.finditer(prompt) if self.needle in block.group(2)]
        assert markers, f"no prompt passage contains {self.needle!r}"
        marker = markers[0]
        draft = f"{self.needle} [{marker}]. {self.unsupported}".strip()
        return Completion(text=draft, prompt_tokens=len(prompt) // 4, completion_tokens=len(draft.split()))
