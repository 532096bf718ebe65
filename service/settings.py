"""Footnote's one settings class, read from FOOTNOTE_* environment variables through a cached getter."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import ChunkingSettings, CollectionSettings, RetrievalSettings
from service.answering.llm import LLMSettings
from service.answering.local_llm import DEFAULT_LOCAL_MODEL
from service.answering.pipeline import AnsweringSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_home() -> Path:
    """Where the store lives unless FOOTNOTE_HOME says otherwise: the XDG data directory."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "footnote"


class Settings(BaseSettings):
    """Every knob, with a default that works offline on the bundled corpus and models."""

    model_config = SettingsConfigDict(env_prefix="FOOTNOTE_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data directory holding the store.")
    demo_corpus: Path = Field(default=PROJECT_ROOT / "corpus", description="Articles indexed into an empty store.")
    embedding_model: str = Field(default="all-MiniLM-L6-v2", description="sentence-transformers name or path.")
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="torch", description="torch, or ONNX Runtime (int8: faster, slightly different vectors)."
    )
    chunk_max_words: int = Field(default=120, ge=20, le=1000)
    chunk_overlap_sentences: int = Field(default=1, ge=0, le=10)
    index_kind: Literal["flat", "hnsw"] = "flat"
    bm25_k1: float = Field(default=1.2, gt=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    lexical_title_repeats: int = Field(default=3, ge=0, le=10)
    top_k: int = Field(default=6, ge=1, le=100)
    candidates: int = Field(default=1000, ge=1, le=10000)
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    fusion: Literal["zscore", "rrf"] = "zscore"
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=0.45, ge=0, le=1)
    feedback_passages: int = Field(default=3, ge=0, le=50)
    feedback_terms: int = Field(default=20, ge=1, le=200)
    feedback_weight: float = Field(default=0.4, ge=0, le=1)
    mmr_lambda: float | None = Field(default=None, ge=0, le=1)
    max_per_document: int | None = Field(default=None, ge=1)

    model: str = Field(default=DEFAULT_LOCAL_MODEL, description="Any litellm model string.")
    llm_base_url: str | None = Field(default=None, description="Base URL of an OpenAI-compatible server.")
    llm_api_key: SecretStr | None = Field(default=None, description="API key for the model provider.")
    llm_timeout_s: float = Field(default=60.0, gt=0, le=600)
    llm_retries: int = Field(default=1, ge=0, le=5)
    max_tokens: int = Field(default=256, ge=16, le=4096)
    answer_mode: Literal["generate", "extractive"] = "generate"
    answer_k: int = Field(default=6, ge=1, le=50)
    prompt_passages: int = Field(default=4, ge=1, le=50)
    support_threshold: float = Field(default=0.43, ge=0, le=1)
    relevance_threshold: float = Field(default=0.41, ge=0, le=1)
    extract_sentences: int = Field(default=3, ge=1, le=10)
    prompt_canary: SecretStr | None = Field(
        default=None, description="A secret put in the system prompt; any output containing it is withheld."
    )

    # --- HTTP API (see the README's "Keys and origins" and "Limits") ---
    host: str = Field(default="127.0.0.1", description="Address `footnote serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535)
    admin_key: SecretStr | None = Field(default=None, description="Secret key required for every write.")
    site_keys: dict[str, list[str]] = Field(
        default_factory=dict, description="Public widget keys, each with the origins allowed to use it (JSON)."
    )
    allowed_models: list[str] = Field(
        default_factory=list, description="Models a request may ask for besides the configured one."
    )
    max_question_chars: int = Field(default=1000, ge=10, le=4000)
    max_history_turns: int = Field(default=20, ge=0, le=1000)
    max_body_bytes: int = Field(default=1_000_000, ge=1000)
    max_upload_bytes: int = Field(default=20_000_000, ge=1000)
    max_tokens_cap: int = Field(default=1024, ge=16, le=32768, description="Ceiling on a request's max_tokens.")
    rate_limit_per_minute: int = Field(default=60, ge=1, description="Requests per minute per key.")
    rate_limit_per_address: int = Field(default=120, ge=1, description="Requests per minute per client address.")
    max_concurrent_generations: int = Field(default=2, ge=1, le=64)
    max_queued_generations: int = Field(default=8, ge=0, le=1000)
    queue_timeout_s: float = Field(default=30.0, gt=0, le=600)
    max_generations_per_address: int = Field(
        default=1, ge=1, le=1000, description="Answers one client address may have generating or queued at once."
    )

    def llm_settings(self, *, model: str | None = None) -> LLMSettings:
        """How to reach the language model; `model` overrides the configured one."""
        return LLMSettings(
            model=model or self.model,
            api_base=self.llm_base_url,
            api_key=self.llm_api_key.get_secret_value() if self.llm_api_key else None,
            timeout_s=self.llm_timeout_s,
            retries=self.llm_retries,
            max_tokens=self.max_tokens,
        )

    def answering_settings(self) -> AnsweringSettings:
        """The answering pipeline's view of these settings."""
        return AnsweringSettings(
            k=self.answer_k,
            mode=self.answer_mode,
            prompt_passages=self.prompt_passages,
            support_threshold=self.support_threshold,
            relevance_threshold=self.relevance_threshold,
            extract_sentences=self.extract_sentences,
            prompt_canary=self.prompt_canary.get_secret_value() if self.prompt_canary else None,
        )

    def collection_settings(self) -> CollectionSettings:
        """The index-layer view of these settings."""
        return CollectionSettings(
            chunking=ChunkingSettings(max_words=self.chunk_max_words, overlap_sentences=self.chunk_overlap_sentences),
            index_kind=self.index_kind,
            bm25_k1=self.bm25_k1,
            bm25_b=self.bm25_b,
            lexical_title_repeats=self.lexical_title_repeats,
        )

    def retrieval_settings(self) -> RetrievalSettings:
        """The retriever's view of these settings."""
        return RetrievalSettings(
            k=self.top_k,
            candidates=self.candidates,
            mode=self.retrieval_mode,
            fusion=self.fusion,
            rrf_k=self.rrf_k,
            dense_weight=self.dense_weight,
            feedback_passages=self.feedback_passages,
            feedback_terms=self.feedback_terms,
            feedback_weight=self.feedback_weight,
            mmr_lambda=self.mmr_lambda,
            max_per_document=self.max_per_document,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call `get_settings.cache_clear()` after changing the env."""
    return Settings()
