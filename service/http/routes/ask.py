"""POST /v1/ask (a JSON answer, or Server-Sent Events with `"stream": true`) and GET /v1/search."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from itertools import chain
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from index import FootnoteError, Retriever
from service.answering.answer_models import Answer
from service.answering.pipeline import AnswerEvent, DraftDelta, FinalAnswer, RetrievedPassages
from service.http.errors import ERROR_RESPONSES, ApiError, status_of
from service.http.models.api import NOT_BLANK, AskIn, SearchOut
from service.http.models.schemas import PassageOut
from service.http.routes.asking import answer_events, answer_once, answerer_for, check_question, generation_holder
from service.http.routes.deps import AnswererDep, CallerDep, StateDep
from service.http.sse import SSE_HEADERS, sse_event, sse_schema

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["answers"])

_STREAM_DOC = {
    "description": "The answer; with `stream: true`, Server-Sent Events: `passages`, `delta`..., `answer`, `done`.",
    "content": {"text/event-stream": {"schema": sse_schema(["passages", "delta", "answer", "done", "error"])}},
}


@router.post("/ask", response_model=Answer, responses={200: _STREAM_DOC, **ERROR_RESPONSES})
def ask(
    body: AskIn, request: Request, caller: CallerDep, state: StateDep, answerer: AnswererDep
) -> Answer | StreamingResponse:
    """Answer a question from the articles, every sentence cited, or say that the articles do not answer it."""
    question = check_question(body.question, body.history, state)
    chosen = answerer_for(answerer, body.model, state)
    holder = generation_holder(caller, request)
    if not body.stream:
        return answer_once(chosen, question, history=body.history, k=body.k, state=state, holder=holder)
    events = answer_events(chosen, question, history=body.history, k=body.k, stream=True, state=state, holder=holder)
    # Retrieval runs (and a busy slot or a bad store is reported as a plain JSON error) before the stream starts.
    first = next(events)
    return StreamingResponse(_as_sse(first, events), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/search", response_model=SearchOut, responses=ERROR_RESPONSES)
def search(
    q: Annotated[str, Query(min_length=1, max_length=4000, pattern=NOT_BLANK, description="What to search for.")],
    caller: CallerDep,
    state: StateDep,
    answerer: AnswererDep,
    k: Annotated[int, Query(ge=1, le=100, description="How many passages.")] = 6,
) -> SearchOut:
    """The passages that best match a query, with their score components; no answer is generated."""
    query = q.strip()
    if not query:
        raise ApiError(422, "invalid_request", "the query is empty")
    if len(query) > state.settings.max_question_chars:
        raise ApiError(422, "question_too_long", f"the query is over {state.settings.max_question_chars} characters")
    retriever: Retriever = answerer.retriever
    return SearchOut(query=query, passages=[PassageOut.from_scored(p) for p in retriever.search(query, k=k)])


def _as_sse(first: AnswerEvent, rest: Generator[AnswerEvent]) -> Iterator[str]:
    """The pipeline's events as SSE; a failure mid-stream becomes an `error` event, the last one."""
    try:
        for event in chain([first], rest):
            if isinstance(event, RetrievedPassages):
                yield sse_event(
                    "passages", {"passages": [PassageOut.from_scored(p).model_dump() for p in event.passages]}
                )
            elif isinstance(event, DraftDelta):
                yield sse_event("delta", {"text": event.text})
            elif isinstance(event, FinalAnswer):
                yield sse_event("answer", event.answer)
        yield sse_event("done", {})
    except FootnoteError as error:
        yield sse_event("error", {"detail": str(error), "code": error.code, "status": status_of(error)})
    except ApiError as error:
        yield sse_event("error", {"detail": error.detail, "code": error.code, "status": error.status})
    except Exception:
        logger.exception("answer stream failed")
        yield sse_event(
            "error",
            {
                "detail": "Footnote hit an unexpected error; it has been logged.",
                "code": "internal_error",
                "status": 500,
            },
        )
    finally:
        rest.close()  # frees the generation slot even when the client went away mid-answer
