"""POST /v1/ask (a JSON answer, or Server-Sent Events with `"stream": true`) and GET /v1/search.

The request checks, the model override and the generation slots below are shared with /v1/chat/completions.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from itertools import chain
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from index import FootnoteError, Retriever
from service.answering import (
    QUESTION_CHARS_LIMIT,
    Answer,
    Answerer,
    AnswerEvent,
    DraftDelta,
    FinalAnswer,
    LiteLLMChatModel,
    QuotedAnswer,
    RetrievedPassages,
    Turn,
    final_answer,
)
from service.http.auth import Principal, client_address
from service.http.errors import ERROR_RESPONSES, ApiError, status_of
from service.http.limits import GenerationsBusy, HolderBusy
from service.http.models.api import NOT_BLANK, AskIn, PassageOut, SearchOut
from service.http.routes.deps import AnswererDep, CallerDep, StateDep
from service.http.sse import SSE_HEADERS, sse_event, sse_schema
from service.http.state import AppState

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["answers"])

_STREAM_DOC = {
    "description": "The answer; with `stream: true`, Server-Sent Events: `passages`, `quotes` (verified quotes sent "
    "while a written answer is prepared, when quotes answer), `delta`..., `answer` (replaces the quotes and the "
    "draft), `done`.",
    "content": {
        "text/event-stream": {"schema": sse_schema(["passages", "quotes", "delta", "answer", "done", "error"])}
    },
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
    q: Annotated[
        str, Query(min_length=1, max_length=QUESTION_CHARS_LIMIT, pattern=NOT_BLANK, description="What to search for.")
    ],
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
            elif isinstance(event, QuotedAnswer):
                yield sse_event("quotes", event.answer)
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


def check_question(question: str, history: Sequence[Turn], state: AppState) -> str:
    """The question stripped, or a 422 when it is blank, too long or comes with too much history."""
    settings = state.settings
    stripped = question.strip()
    if not stripped:
        raise ApiError(422, "invalid_request", "the question is empty")
    if len(stripped) > settings.max_question_chars:
        raise ApiError(
            422, "question_too_long", f"the question is over the limit of {settings.max_question_chars} characters"
        )
    if len(history) > settings.max_history_turns:
        raise ApiError(422, "history_too_long", f"at most {settings.max_history_turns} earlier turns are accepted")
    if not all(_is_text(text) for text in (stripped, *(turn.content for turn in history))):
        # JSON can escape lone surrogates ("\ud800"); they are not text, and no model or tokenizer takes them.
        raise ApiError(422, "invalid_request", "the question or history holds invalid Unicode (a lone surrogate)")
    return stripped


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def generation_holder(caller: Principal, request: Request) -> str | None:
    """Whose share of the generation slots a request counts against: its client address (the admin has none)."""
    return None if caller.role == "admin" else client_address(request)


def answerer_for(answerer: Answerer, model: str | None, state: AppState) -> Answerer:
    """The pipeline with the requested model, when that model is the configured one or explicitly allowed."""
    settings = state.settings
    current = answerer.chat_model.name if answerer.chat_model is not None else None
    if model is None or model == current or (current is None and model == settings.model):
        return answerer
    if model not in settings.allowed_models:
        raise ApiError(403, "model_not_allowed", f"model {model!r} is not allowed here; see FOOTNOTE_ALLOWED_MODELS")
    return answerer.with_chat_model(LiteLLMChatModel(settings.llm_settings(model=model)))


def answer_events(
    answerer: Answerer,
    question: str,
    *,
    history: Sequence[Turn],
    k: int | None,
    stream: bool,
    state: AppState,
    holder: str | None = None,
) -> Generator[AnswerEvent]:
    """The pipeline's events inside a generation slot, counting the final answer in the metrics.

    The slot is taken at the first `next()`, so a caller that pulls the first event before it starts a
    response turns a full house into a 503 rather than a stream that stalls. `holder` (the client's address)
    may hold only its share of the slots and queue; beyond it, 429.
    """
    generates = answerer.settings.mode == "generate" and answerer.chat_model is not None
    if generates:
        try:
            state.slots.acquire(holder)
        except HolderBusy as error:
            state.metrics.rejected.labels(reason="per_address").inc()
            raise ApiError(
                429, "rate_limited", f"{error}; wait for them to finish", headers={"Retry-After": "2"}
            ) from error
        except GenerationsBusy as error:
            state.metrics.rejected.labels(reason="busy").inc()
            raise ApiError(
                503, "busy", f"Footnote is busy: {error}; retry shortly", headers={"Retry-After": "2"}
            ) from error
    try:
        for event in answerer.answer_events(question, history=history, k=k, stream=stream):
            if isinstance(event, FinalAnswer):
                state.metrics.record_answer(event.answer)
            yield event
    finally:
        if generates:
            state.slots.release(holder)


def answer_once(
    answerer: Answerer,
    question: str,
    *,
    history: Sequence[Turn],
    k: int | None,
    state: AppState,
    holder: str | None = None,
) -> Answer:
    """The final answer, without streaming."""
    events = answer_events(answerer, question, history=history, k=k, stream=False, state=state, holder=holder)
    with closing(events):
        return final_answer(events)
