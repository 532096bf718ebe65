"""Documents, chunking, embedding, the durable store and retrieval. Imports nothing else of Footnote's."""

from index.chunking import ChunkingSettings, chunk_document, split_sentences
from index.collection import Collection, CollectionSettings, IngestResult, IngestStatus
from index.documents import Document, Passage, ScoreComponents, ScoredPassage
from index.embedders import get_embedder
from index.embedding import DEFAULT_EMBEDDING_MODEL, Embedder, SentenceTransformerEmbedder
from index.errors import (
    DocumentLoadError,
    DocumentNotFoundError,
    FootnoteError,
    IndexOutOfSyncError,
    IndexUnavailableError,
    ReadOnlyReplicaError,
    StoreCorruptError,
    StoreMismatchError,
)
from index.integrity import IntegrityReport
from index.lexical_index import content_terms, tokenize
from index.loaders import SUPPORTED_SUFFIXES, canonical_text, expand_paths, load_bytes, load_path, load_paths, slugify
from index.milvus_collection import MilvusCollection
from index.milvus_state import MilvusIndexType, MilvusSettings
from index.retrieval import RetrievalSettings, Retriever
from index.salvage import SalvageReport, salvage_store
from index.snapshot_check import check_database
from index.store import DATABASE_NAME, DocumentSummary

__all__ = [
    "DATABASE_NAME",
    "DEFAULT_EMBEDDING_MODEL",
    "SUPPORTED_SUFFIXES",
    "ChunkingSettings",
    "Collection",
    "CollectionSettings",
    "Document",
    "DocumentLoadError",
    "DocumentNotFoundError",
    "DocumentSummary",
    "Embedder",
    "FootnoteError",
    "IndexOutOfSyncError",
    "IndexUnavailableError",
    "IngestResult",
    "IngestStatus",
    "IntegrityReport",
    "MilvusCollection",
    "MilvusIndexType",
    "MilvusSettings",
    "Passage",
    "ReadOnlyReplicaError",
    "RetrievalSettings",
    "Retriever",
    "SalvageReport",
    "ScoreComponents",
    "ScoredPassage",
    "SentenceTransformerEmbedder",
    "StoreCorruptError",
    "StoreMismatchError",
    "check_database",
    "chunk_document",
    "content_terms",
    "canonical_text",
    "expand_paths",
    "get_embedder",
    "load_bytes",
    "load_path",
    "load_paths",
    "salvage_store",
    "slugify",
    "split_sentences",
    "tokenize",
]
