"""Open the heavy, long-lived things (the embedder, the collection and the pipeline over it) from the config, once."""

from __future__ import annotations

import logging

from index import Collection, MilvusCollection, Retriever, load_paths
from service.answering.config import AnsweringConfig
from service.answering.judge import LocalYesNoModel, yes_no_model
from service.answering.llm import LiteLLMChatModel
from service.answering.local_llm import LOCAL_PROVIDER
from service.answering.model_files import LocalModelMissingError, verified_model_path
from service.answering.pipeline import Answerer
from service.answering.reader import Reader
from service.answering.support import HeuristicSupportScorer

logger = logging.getLogger(__name__)


def open_collection(config: AnsweringConfig, *, allow_settings_mismatch: bool = False) -> Collection:
    """The collection in the configured data directory, with the configured (lazily loaded) embedder.

    With the Milvus backend, searches go to Milvus; the writer keeps SQLite and mirrors every change there, and
    a read-only replica opens no SQLite at all.
    """
    if config.index_backend == "milvus":
        return MilvusCollection(
            config.home,
            embedder=config.embedder(),
            milvus=config.milvus_settings(),
            settings=config.collection_settings(),
            read_only=config.read_only,
            allow_settings_mismatch=allow_settings_mismatch,
        )
    return Collection(
        config.home,
        embedder=config.embedder(),
        settings=config.collection_settings(),
        allow_settings_mismatch=allow_settings_mismatch,
    )


def index_demo_corpus_if_empty(collection: Collection, config: AnsweringConfig) -> int:
    """Ingest the bundled articles into an empty store; returns how many documents were added."""
    if collection.count_documents() > 0 or config.read_only:  # a replica's corpus is the writer's
        return 0
    documents = load_paths([str(config.demo_corpus)])
    collection.ingest(documents)
    logger.info("indexed %d bundled documents from %s", len(documents), config.demo_corpus)
    return len(documents)


def build_answerer(collection: Collection, config: AnsweringConfig, *, model: str | None = None) -> Answerer:
    """The answering pipeline over a collection, with the configured (or given) model."""
    answering = config.answering_settings()
    chat_model = LiteLLMChatModel(config.llm_settings(model=model)) if answering.mode == "generate" else None
    return Answerer(
        retriever=Retriever(collection, config.retrieval_settings()),
        scorer=HeuristicSupportScorer(collection.embedder),
        chat_model=chat_model,
        settings=answering,
        reader=build_reader(config),
    )


def build_reader(config: AnsweringConfig) -> Reader | None:
    """The model judge the config names, or None for the heuristic alone: chosen so, or when the embedded model
    that would judge is not installed (the answer then comes from the heuristic, as before the judge)."""
    settings = config.judge_settings()
    if settings is None:
        return None
    if settings.model.startswith(f"{LOCAL_PROVIDER}/"):
        try:
            verified_model_path()
        except LocalModelMissingError as error:
            logger.warning("no model judge, the heuristic decides: %s", error)
            return None
    return Reader(yes_no_model(settings), config.reader_settings())


def preload_models(answerer: Answerer) -> None:
    """Load the writer's weights and the judge's fixed conversation start now, not on the first question."""
    if isinstance(answerer.chat_model, LiteLLMChatModel):
        answerer.chat_model.preload()
    if answerer.reader is not None and isinstance(answerer.reader.judge, LocalYesNoModel):
        answerer.reader.judge.preload()
