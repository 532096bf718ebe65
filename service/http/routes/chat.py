"""POST /v1/chat/completions: Footnote behind the OpenAI chat-completions interface, plain or streamed.

The last user message with text is the question and the user and assistant messages before it its history. System
messages are ignored: the grounding rules are Footnote's own and a client cannot relax them. Streams carry
the verified answer only: an OpenAI client has no way to take back a draft sentence that failed verification.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from service.answering import Answer, Answerer, LiteLLMChatModel, Turn
from service.http.errors import ERROR_RESPONSES
from service.http.models.openai import ChatCompletionIn, ChatCompletionOut, ChatMessageOut, ChoiceOut, UsageOut
from service.http.routes.ask import answer_once, answerer_for, check_question, generation_holder
from service.http.routes.deps import AnswererDep, CallerDep, StateDep
from service.http.sse import SSE_HEADERS, sse_event, sse_schema
from service.http.state import AppState

router = APIRouter(prefix="/v1", tags=["openai"])

# The model name OpenAI clients may use for "whatever this Footnote is configured with".
FOOTNOTE_MODEL_ALIAS = "footnote"
_WORDS = re.compile(r"\S+\s*")

_STREAM_DOC = {
    "description": "A chat completion; with `stream: true`, `chat.completion.chunk` events and `data: [DONE]`.",
    "content": {"text/event-stream": {"schema": sse_schema()}},
}


@router.post("/chat/completions", response_model=ChatCompletionOut, responses={200: _STREAM_DOC, **ERROR_RESPONSES})
def chat_completions(
    body: ChatCompletionIn, request: Request, caller: CallerDep, state: StateDep, answerer: AnswererDep
) -> ChatCompletionOut | StreamingResponse:
    """Answer the last user message from the articles, OpenAI style, with citations."""
    asked = max(n for n, message in enumerate(body.messages) if message.asks())
    history = [
        Turn(role=message.role, content=message.text())
        for message in body.messages[:asked]
        if message.role in ("user", "assistant") and message.text().strip()
    ]
    question = check_question(body.messages[asked].text(), history, state)
    model = None if body.model == FOOTNOTE_MODEL_ALIAS else body.model
    chosen = _with_max_tokens(
        answerer_for(answerer, model, state), body.max_completion_tokens or body.max_tokens, state
    )
    answer = answer_once(
        chosen, question, history=history, k=None, state=state, holder=generation_holder(caller, request)
    )
    completion = _completion(answer)
    if not body.stream:
        return completion
    return StreamingResponse(_chunks(completion), media_type="text/event-stream", headers=SSE_HEADERS)


def with_sources(answer: Answer) -> str:
    """The answer text followed by its numbered sources, so a plain chat UI still shows what each marker cites."""
    if not answer.citations:
        return answer.text
    lines = [f'[{c.marker}] {c.title}{f" ({c.date})" if c.date else ""}: "{c.quote}"' for c in answer.citations]
    return answer.text + "\n\nSources:\n" + "\n".join(lines)


def _with_max_tokens(answerer: Answerer, requested: int | None, state: AppState) -> Answerer:
    model = answerer.chat_model
    if requested is None or not isinstance(model, LiteLLMChatModel):
        return answerer
    capped = min(requested, state.settings.max_tokens_cap)
    return answerer.with_chat_model(LiteLLMChatModel(dataclasses.replace(model.settings, max_tokens=capped)))


def _completion(answer: Answer) -> ChatCompletionOut:
    usage = answer.usage
    return ChatCompletionOut(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=answer.model,
        choices=[
            ChoiceOut(
                message=ChatMessageOut(
                    content=with_sources(answer), citations=answer.citations, abstained=answer.abstained
                )
            )
        ],
        usage=UsageOut(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.prompt_tokens + usage.completion_tokens,
        ),
    )


def _chunks(completion: ChatCompletionOut) -> Iterator[str]:
    """The verified reply as `chat.completion.chunk` events: the role, the text a word at a time, then the
    finish with the citations."""
    message = completion.choices[0].message

    def chunk(delta: dict[str, object], finish_reason: str | None = None) -> str:
        return sse_event(
            None,
            {
                "id": completion.id,
                "object": "chat.completion.chunk",
                "created": completion.created,
                "model": completion.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            },
        )

    yield chunk({"role": "assistant", "content": ""})
    for word in _WORDS.findall(message.content):
        yield chunk({"content": word})
    citations = [citation.model_dump() for citation in message.citations]
    yield chunk({"citations": citations, "abstained": message.abstained}, finish_reason="stop")
    yield sse_event(None, "[DONE]")
