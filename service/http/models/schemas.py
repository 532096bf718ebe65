"""Pydantic models for what Footnote prints and serves: one shape for the CLI's JSON and the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from index import Document, DocumentSummary, IngestResult, ScoredPassage


class PassageOut(BaseModel):
    """A retrieved passage: `text` is exactly the document's canonical text from `start` to `end`."""

    model_config = ConfigDict(frozen=True)

    document_id: str
    title: str
    date: str | None
    source: str | None
    passage_id: str
    text: str
    start: int
    end: int
    score: float
    dense_score: float | None
    dense_rank: int | None
    lexical_score: float | None
    lexical_rank: int | None

    @classmethod
    def from_scored(cls, scored: ScoredPassage) -> PassageOut:
        """Flatten a retrieved passage with its score components."""
        passage = scored.passage
        return cls(
            document_id=passage.document_id,
            title=scored.title,
            date=scored.date,
            source=scored.source,
            passage_id=passage.id,
            text=passage.text,
            start=passage.start,
            end=passage.end,
            score=scored.score,
            dense_score=scored.components.dense_score,
            dense_rank=scored.components.dense_rank,
            lexical_score=scored.components.lexical_score,
            lexical_rank=scored.components.lexical_rank,
        )


class DocumentSummaryOut(BaseModel):
    """A stored document without its text."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    date: str | None
    source: str | None
    path: str | None
    passages: int
    characters: int
    ingested_at: str

    @classmethod
    def from_summary(cls, summary: DocumentSummary) -> DocumentSummaryOut:
        """Copy a store summary into the public shape."""
        return cls(**summary.__dict__)


class DocumentOut(BaseModel):
    """A stored document with its canonical text, which every offset points into."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    date: str | None
    source: str | None
    path: str | None
    text: str

    @classmethod
    def from_document(cls, document: Document) -> DocumentOut:
        """Copy a stored document into the public shape."""
        return cls(
            id=document.id,
            title=document.title,
            date=document.date,
            source=document.source,
            path=document.path,
            text=document.text,
        )


class IngestResultOut(BaseModel):
    """What ingesting one document did."""

    model_config = ConfigDict(frozen=True)

    document_id: str
    status: str
    passages: int

    @classmethod
    def from_result(cls, result: IngestResult) -> IngestResultOut:
        """Copy an ingest result into the public shape."""
        return cls(document_id=result.document_id, status=result.status.value, passages=result.passages)
