"""Open the heavy, long-lived things (the embedder and the collection) from settings, once."""

from __future__ import annotations

import logging

from index import Collection, Embedder, Retriever, get_embedder, load_paths
from service.answering.llm import LiteLLMChatModel
from service.answering.pipeline import Answerer
from service.answering.support import HeuristicSupportScorer
from service.settings import Settings

logger = logging.getLogger(__name__)


def settings_embedder(settings: Settings) -> Embedder:
    """The configured embedder; the ONNX backends export the model once into the data directory."""
    return get_embedder(
        settings.embedding_model, backend=settings.embedding_backend, cache_dir=settings.home / "models"
    )


def open_collection(settings: Settings, *, allow_settings_mismatch: bool = False) -> Collection:
    """The collection in the configured data directory, with the configured (lazily loaded) embedder."""
    return Collection(
        settings.home,
        embedder=settings_embedder(settings),
        settings=settings.collection_settings(),
        allow_settings_mismatch=allow_settings_mismatch,
    )


def index_demo_corpus_if_empty(collection: Collection, settings: Settings) -> int:
    """Ingest the bundled articles into an empty store; returns how many documents were added."""
    if collection.count_documents() > 0:
        return 0
    documents = load_paths([str(settings.demo_corpus)])
    collection.ingest(documents)
    logger.info("indexed %d bundled documents from %s", len(documents), settings.demo_corpus)
    return len(documents)


def build_answerer(collection: Collection, settings: Settings, *, model: str | None = None) -> Answerer:
    """The answering pipeline over a collection, with the configured (or given) model."""
    answering = settings.answering_settings()
    chat_model = LiteLLMChatModel(settings.llm_settings(model=model)) if answering.mode == "generate" else None
    return Answerer(
        retriever=Retriever(collection, settings.retrieval_settings()),
        scorer=HeuristicSupportScorer(collection.embedder),
        chat_model=chat_model,
        settings=answering,
    )
