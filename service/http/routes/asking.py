"""What /v1/ask and /v1/chat/completions share: request checks, the model override, generation slots, metrics."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import closing

from starlette.requests import Request

from service.answering.answer_models import Answer, Turn
from service.answering.llm import LiteLLMChatModel
from service.answering.pipeline import Answerer, AnswerEvent, FinalAnswer, final_answer
from service.http.auth import Principal, client_address
from service.http.errors import ApiError
from service.http.limits import GenerationsBusy, HolderBusy
from service.http.state import AppState


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
