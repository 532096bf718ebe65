"""Request and response models of Footnote's own HTTP routes; requests are closed (`extra="forbid"`) and strict
(see service/http/strict_json.py). The response shapes are also what the CLI's --json prints: one shape for both."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass as validated_dataclass

from index import Document, DocumentSummary, IngestResult, ScoredPassage
from service.answering import QUESTION_CHARS_LIMIT, Turn
from service.http.strict_json import WHOLE_FLOAT_AS_INT

# Requires one non-blank character, so a blank question is refused by the schema itself. Spelled out because
# "blank" differs: JSON Schema (ECMA) regexes count U+FEFF as space, pydantic's (Rust) count U+0085, and
# Python's str.strip() also removes U+001C-U+001F; a character any of them calls blank does not count.
NOT_BLANK = r"[^\s\u001c-\u001f\u0085\ufeff]"
# Document ids appear in URLs and file names: keep them to a safe, readable alphabet.
DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"


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
            **dataclasses.asdict(scored.components),
        )


# The store's summary is already the public shape: the subclass only gives it its name in the API's schema.
@validated_dataclass(frozen=True)
class DocumentSummaryOut(DocumentSummary):
    """A stored document without its text."""

    @classmethod
    def from_summary(cls, summary: DocumentSummary) -> DocumentSummaryOut:
        """The store's summary under its public name."""
        return cls(**dataclasses.asdict(summary))


class DocumentOut(BaseModel):
    """A stored document with its canonical text, which every offset points into."""

    model_config = ConfigDict(frozen=True)

    # Declared, not derived from index.Document: the public field order (text last) and every field being
    # required are part of the API's schema.
    id: str
    title: str
    date: str | None
    source: str | None
    path: str | None
    text: str

    @classmethod
    def from_document(cls, document: Document) -> DocumentOut:
        """Copy a stored document into the public shape."""
        return cls(**{name: getattr(document, name) for name in cls.model_fields})


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


class AskIn(BaseModel):
    """A question, with the earlier turns of the conversation for follow-ups."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(
        min_length=1,
        max_length=QUESTION_CHARS_LIMIT,
        pattern=NOT_BLANK,
        description="At most FOOTNOTE_MAX_QUESTION_CHARS characters.",
    )
    history: list[Turn] = Field(default_factory=list, max_length=100)
    k: Annotated[int, Field(ge=1, le=50), WHOLE_FLOAT_AS_INT] | None = Field(
        default=None, description="Passages to retrieve (default: configured)."
    )
    model: str | None = Field(default=None, max_length=200, description="Another allowed model for this answer.")
    stream: bool = Field(default=False, description="Answer as Server-Sent Events.")


class SearchOut(BaseModel):
    """The passages retrieved for a query, best first."""

    model_config = ConfigDict(frozen=True)

    query: str
    passages: list[PassageOut]


class DocumentIn(BaseModel):
    """A document sent as JSON; without an id, one is made from the title."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | None = Field(default=None, pattern=DOCUMENT_ID_PATTERN)
    title: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)
    text: str = Field(min_length=1, pattern=NOT_BLANK)
    date: str | None = Field(default=None, max_length=100)
    source: str | None = Field(default=None, max_length=2000)


class IngestOut(BaseModel):
    """What adding documents did, one entry per document (a JSONL upload may hold many)."""

    model_config = ConfigDict(frozen=True)

    documents: list[IngestResultOut]


class DocumentPage(BaseModel):
    """One page of the stored documents, ordered by id."""

    model_config = ConfigDict(frozen=True)

    items: list[DocumentSummaryOut]
    total: int
    offset: int
    limit: int


class HealthOut(BaseModel):
    """The process is up."""

    status: Literal["ok"]


class ReadyOut(BaseModel):
    """Models and index are loaded and the service can answer."""

    status: Literal["ready"]
    documents: int
    passages: int
    model: str
    answer_mode: str
