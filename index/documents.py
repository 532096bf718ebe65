"""The data types every layer shares: documents, passages and scored passages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One source article with its canonical text; all offsets point into `text`."""

    id: str
    title: str
    text: str
    date: str | None = None
    source: str | None = None
    path: str | None = None

    @property
    def content_hash(self) -> str:
        """A digest of everything stored for the document, so re-ingesting it unchanged is a no-op."""
        digest = hashlib.sha256()
        for part in (self.title, self.date or "", self.source or "", self.text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()


@dataclass(frozen=True)
class Passage:
    """A contiguous span of a document: `document.text[start:end] == text`."""

    document_id: str
    ordinal: int
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        """A passage id that stays the same while its document is unchanged."""
        return f"{self.document_id}#{self.ordinal}"


@dataclass(frozen=True)
class ScoreComponents:
    """Why a passage ranked where it did: each retriever's score and rank (None when it did not find it)."""

    dense_score: float | None = None
    dense_rank: int | None = None
    lexical_score: float | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class ScoredPassage:
    """A retrieved passage with its document's metadata and its fused score."""

    passage: Passage
    title: str
    score: float
    components: ScoreComponents = field(default_factory=ScoreComponents)
    date: str | None = None
    source: str | None = None
