"""What the answering pipeline reads from the environment (FOOTNOTE_*): the store, index, retrieval, model and
answering knobs. The HTTP service's settings (service/settings.py) add theirs to these.

One source per setting: every default is the layer's own (index.ChunkingSettings, index.RetrievalSettings,
AnsweringSettings, LLMSettings, ...), and a bound a layer's class checks itself is not written again here: its
check runs once, at load, on the value from the environment. The bounds written here are an operator's limits
that the layers do not have (at most 100 passages, say).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import (
    DEFAULT_EMBEDDING_MODEL,
    ChunkingSettings,
    CollectionSettings,
    Embedder,
    MilvusIndexType,
    MilvusSettings,
    RetrievalSettings,
    get_embedder,
)
from service.answering.llm import LLMSettings
from service.answering.local_llm import DEFAULT_LOCAL_MODEL
from service.answering.pipeline import AnsweringSettings
from service.answering.reader import ReaderSettings

HEURISTIC_JUDGE = "heuristic"

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The settings whose bounds are their layer's own, with that layer's class and the field's name there.
_CHECKED_BY_LAYER: dict[str, tuple[type[Any], str]] = {
    "chunk_max_words": (ChunkingSettings, "max_words"),
    "chunk_overlap_sentences": (ChunkingSettings, "overlap_sentences"),
    "top_k": (RetrievalSettings, "k"),
    "candidates": (RetrievalSettings, "candidates"),
    "dense_weight": (RetrievalSettings, "dense_weight"),
    "feedback_passages": (RetrievalSettings, "feedback_passages"),
    "feedback_terms": (RetrievalSettings, "feedback_terms"),
    "feedback_weight": (RetrievalSettings, "feedback_weight"),
    "mmr_lambda": (RetrievalSettings, "mmr_lambda"),
    "max_per_document": (RetrievalSettings, "max_per_document"),
}


def default_home() -> Path:
    """Where the store lives unless FOOTNOTE_HOME says otherwise: the XDG data directory."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "footnote"


class AnsweringConfig(BaseSettings):
    """Every knob of the pipeline, with a default that works offline on the bundled corpus and models."""

    model_config = SettingsConfigDict(env_prefix="FOOTNOTE_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data directory holding the store.")
    demo_corpus: Path = Field(default=PROJECT_ROOT / "corpus", description="Articles indexed into an empty store.")
    embedding_model: str = Field(default=DEFAULT_EMBEDDING_MODEL, description="sentence-transformers name or path.")
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="torch", description="torch, or ONNX Runtime (int8: faster, slightly different vectors)."
    )
    chunk_max_words: int = Field(default=ChunkingSettings.max_words, ge=20, le=1000)
    chunk_overlap_sentences: int = Field(default=ChunkingSettings.overlap_sentences, le=10)
    index_kind: Literal["flat", "hnsw"] = CollectionSettings.index_kind
    bm25_k1: float = Field(default=CollectionSettings.bm25_k1, gt=0)
    bm25_b: float = Field(default=CollectionSettings.bm25_b, ge=0, le=1)
    lexical_title_repeats: int = Field(default=CollectionSettings.lexical_title_repeats, ge=0, le=10)
    index_backend: Literal["embedded", "milvus"] = Field(
        default="embedded",
        description="embedded: FAISS and BM25 in memory over the SQLite store; milvus: a Milvus collection mirrors "
        "the store and serves every search (needs the milvus extra).",
    )
    milvus_uri: str | None = Field(
        default=None,
        description="milvus-lite folder (a path ending in .db; default <home>/milvus.db) or the http:// address of "
        "a Milvus server or cluster.",
    )
    milvus_collection: str = Field(default="footnote", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
    milvus_index: MilvusIndexType = Field(default="FLAT", description="FLAT (exact), HNSW, HNSW_SQ, IVF_FLAT, DISKANN.")
    milvus_hnsw_m: int = Field(default=MilvusSettings.hnsw_m, ge=4, le=128)
    milvus_hnsw_ef_construction: int = Field(default=MilvusSettings.hnsw_ef_construction, ge=8, le=4096)
    milvus_search_ef: int = Field(default=MilvusSettings.search_ef, ge=8, le=16384)
    read_only: bool = Field(
        default=False,
        description="A search-and-ask replica on the Milvus backend: it never opens SQLite and refuses document "
        "routes; one writer (read_only false) owns them.",
    )
    top_k: int = Field(default=RetrievalSettings.k, le=100)
    candidates: int = Field(default=RetrievalSettings.candidates, le=10000)
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = RetrievalSettings.mode
    fusion: Literal["zscore", "rrf"] = RetrievalSettings.fusion
    rrf_k: int = Field(default=RetrievalSettings.rrf_k, ge=1)
    dense_weight: float = RetrievalSettings.dense_weight
    feedback_passages: int = Field(default=RetrievalSettings.feedback_passages, le=50)
    feedback_terms: int = Field(default=RetrievalSettings.feedback_terms, le=200)
    feedback_weight: float = RetrievalSettings.feedback_weight
    mmr_lambda: float | None = RetrievalSettings.mmr_lambda
    max_per_document: int | None = RetrievalSettings.max_per_document

    model: str = Field(default=DEFAULT_LOCAL_MODEL, description="Any litellm model string.")
    llm_base_url: str | None = Field(default=None, description="Base URL of an OpenAI-compatible server.")
    llm_api_key: SecretStr | None = Field(default=None, description="API key for the model provider.")
    llm_timeout_s: float = Field(default=LLMSettings.timeout_s, gt=0, le=600)
    llm_retries: int = Field(default=LLMSettings.retries, ge=0, le=5)
    max_tokens: int = Field(default=LLMSettings.max_tokens, ge=16, le=4096)
    answer_mode: Literal["generate", "extractive"] = AnsweringSettings.mode
    answer_k: int = Field(default=AnsweringSettings.k, ge=1, le=50)
    prompt_passages: int = Field(default=AnsweringSettings.prompt_passages, ge=1, le=50)
    support_threshold: float = Field(default=AnsweringSettings.support_threshold, ge=0, le=1)
    relevance_threshold: float = Field(default=AnsweringSettings.relevance_threshold, ge=0, le=1)
    extract_sentences: int = Field(default=AnsweringSettings.extract_sentences, ge=1, le=10)
    prompt_canary: SecretStr | None = Field(
        default=None, description="A secret put in the system prompt; any output containing it is withheld."
    )
    judge_model: str = Field(
        default=DEFAULT_LOCAL_MODEL,
        description="Who decides support and answerability: a litellm model string (the embedded model by "
        "default), or `heuristic` for the word-and-embedding score alone.",
    )
    evidence_sentences: int = Field(default=ReaderSettings.evidence_sentences, ge=1, le=40)
    answerable_threshold: float = Field(default=ReaderSettings.answerable_threshold, ge=0, le=1)
    confirm_threshold: float = Field(default=ReaderSettings.confirm_threshold, ge=0, le=1)
    judge_support_threshold: float = Field(default=ReaderSettings.support_threshold, ge=0, le=1)

    @model_validator(mode="after")
    def _replicas_need_milvus(self) -> AnsweringConfig:
        """A replica without SQLite needs an index that lives elsewhere."""
        if self.read_only and self.index_backend != "milvus":
            raise ValueError("FOOTNOTE_READ_ONLY needs FOOTNOTE_INDEX_BACKEND=milvus (the embedded index is SQLite's)")
        if self.read_only and self.milvus_uri is None:
            # The default, a milvus-lite folder in this replica's own data directory, is one no writer fills.
            raise ValueError("FOOTNOTE_READ_ONLY needs FOOTNOTE_MILVUS_URI: the writer's Milvus (http://host:port)")
        return self

    @field_validator(*_CHECKED_BY_LAYER)
    @classmethod
    def _layer_accepts(cls, value: Any, info: ValidationInfo) -> Any:
        """The layer's own check of this one value (its ValueError names the field as the layer calls it)."""
        layer, name = _CHECKED_BY_LAYER[str(info.field_name)]
        layer(**{name: value})
        return value

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

    def reader_settings(self) -> ReaderSettings:
        """The model reader's view of these settings."""
        return ReaderSettings(
            evidence_sentences=self.evidence_sentences,
            answerable_threshold=self.answerable_threshold,
            confirm_threshold=self.confirm_threshold,
            support_threshold=self.judge_support_threshold,
            best_sentences=self.extract_sentences,
        )

    def judge_settings(self) -> LLMSettings | None:
        """How to reach the judge model; None when the heuristic judges alone."""
        if self.judge_model == HEURISTIC_JUDGE:
            return None
        return self.llm_settings(model=self.judge_model)

    def collection_settings(self) -> CollectionSettings:
        """The index-layer view of these settings."""
        return CollectionSettings(
            chunking=ChunkingSettings(max_words=self.chunk_max_words, overlap_sentences=self.chunk_overlap_sentences),
            index_kind=self.index_kind,
            bm25_k1=self.bm25_k1,
            bm25_b=self.bm25_b,
            lexical_title_repeats=self.lexical_title_repeats,
        )

    def milvus_settings(self) -> MilvusSettings:
        """Where the Milvus backend's collections live and how they are indexed."""
        return MilvusSettings(
            uri=self.milvus_uri or str(self.home / "milvus.db"),
            collection=self.milvus_collection,
            index_type=self.milvus_index,
            hnsw_m=self.milvus_hnsw_m,
            hnsw_ef_construction=self.milvus_hnsw_ef_construction,
            search_ef=self.milvus_search_ef,
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

    def embedder(self) -> Embedder:
        """The configured embedder (loaded lazily); the ONNX backends export the model once into the data folder."""
        return get_embedder(self.embedding_model, backend=self.embedding_backend, cache_dir=self.home / "models")
