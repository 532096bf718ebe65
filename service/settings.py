"""Footnote's one settings class, read from FOOTNOTE_* environment variables through a cached getter."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import ChunkingSettings, CollectionSettings, RetrievalSettings

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
    chunk_max_words: int = Field(default=120, ge=20, le=1000)
    chunk_overlap_sentences: int = Field(default=1, ge=0, le=10)
    index_kind: Literal["flat", "hnsw"] = "flat"
    bm25_k1: float = Field(default=1.2, gt=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    top_k: int = Field(default=6, ge=1, le=100)
    candidates: int = Field(default=100, ge=1, le=2000)
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    fusion: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=0.5, ge=0, le=1)
    mmr_lambda: float | None = Field(default=None, ge=0, le=1)
    max_per_document: int | None = Field(default=None, ge=1)

    def collection_settings(self) -> CollectionSettings:
        """The index-layer view of these settings."""
        return CollectionSettings(
            chunking=ChunkingSettings(max_words=self.chunk_max_words, overlap_sentences=self.chunk_overlap_sentences),
            index_kind=self.index_kind,
            bm25_k1=self.bm25_k1,
            bm25_b=self.bm25_b,
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
            mmr_lambda=self.mmr_lambda,
            max_per_document=self.max_per_document,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call `get_settings.cache_clear()` after changing the env."""
    return Settings()
