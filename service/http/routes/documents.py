"""Managing the corpus: add (JSON or a file upload), list, read and delete documents. Admin (or local) only."""

from __future__ import annotations

import pathlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from index import Document, DocumentLoadError, canonical_text, load_bytes, slugify
from service.http.errors import ERROR_RESPONSES, ApiError, describe_validation_errors
from service.http.models.api import (
    DOCUMENT_ID_PATTERN,
    DocumentIn,
    DocumentOut,
    DocumentPage,
    DocumentSummaryOut,
    IngestOut,
    IngestResultOut,
)
from service.http.routes.deps import CollectionDep, ManagerDep, StateDep, require_writer

# On a read-only replica every document route answers 405: only the writer holds the documents' text.
router = APIRouter(prefix="/v1/documents", tags=["documents"], dependencies=[Depends(require_writer)])

DocumentId = Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN, description="The document's id.")]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "additionalProperties": False,
                }
            },
        },
    }
}


@router.post("", status_code=201, response_model=IngestOut, openapi_extra=_UPLOAD_BODY, responses=ERROR_RESPONSES)
async def add_document(request: Request, manager: ManagerDep, collection: CollectionDep, state: StateDep) -> IngestOut:
    """Add or replace documents: a JSON document, or a file (.md, .txt, .html, .pdf, .jsonl) as multipart `file`.

    Embedding runs in a worker thread, so questions keep being answered meanwhile; each document becomes
    searchable whole, in one step, once it is stored.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        documents = [_from_json(await request.body())]
    elif content_type == "multipart/form-data":
        documents = await _from_upload(request)
    else:
        raise ApiError(415, "unsupported_media_type", "send application/json or multipart/form-data with a `file`")
    results = await run_in_threadpool(collection.ingest, documents)
    return IngestOut(documents=[IngestResultOut.from_result(result) for result in results])


@router.get("", response_model=DocumentPage, responses=ERROR_RESPONSES)
def list_documents(
    manager: ManagerDep,
    collection: CollectionDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DocumentPage:
    """Stored documents without their text, ordered by id, a page at a time."""
    items = [DocumentSummaryOut.from_summary(s) for s in collection.list_documents(offset=offset, limit=limit)]
    return DocumentPage(items=items, total=collection.count_documents(), offset=offset, limit=limit)


@router.get("/{document_id}", response_model=DocumentOut, responses=ERROR_RESPONSES)
def get_document(document_id: DocumentId, manager: ManagerDep, collection: CollectionDep) -> DocumentOut:
    """A document with its canonical text, which every citation's offsets point into."""
    return DocumentOut.from_document(collection.get_document(document_id))


@router.delete("/{document_id}", status_code=204, response_class=Response, responses=ERROR_RESPONSES)
def delete_document(document_id: DocumentId, manager: ManagerDep, collection: CollectionDep) -> Response:
    """Delete a document; it disappears from search and answers at once."""
    collection.delete(document_id)
    return Response(status_code=204)


def _from_json(body: bytes) -> Document:
    try:
        sent = DocumentIn.model_validate_json(body)
    except ValidationError as error:
        raise ApiError(422, "invalid_request", describe_validation_errors(error.errors())) from error
    text = canonical_text(sent.text)
    if not text:
        raise ApiError(422, "invalid_document", "the document has no text")
    return Document(
        id=sent.id or slugify(sent.title),
        title=sent.title.strip() or "Untitled",
        text=text,
        date=sent.date,
        source=sent.source,
    )


async def _from_upload(request: Request) -> list[Document]:
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "invalid_request", "the form needs a `file` field holding the document")
        name = pathlib.PurePath(upload.filename or "upload.txt").name
        data = await upload.read()
    try:
        return load_bytes(pathlib.Path(name), data)
    except DocumentLoadError:
        raise
    except Exception as error:  # a parser choking on a malformed file is bad input, not a server fault
        raise DocumentLoadError(f"{name}: could not be read: {type(error).__name__}") from error
