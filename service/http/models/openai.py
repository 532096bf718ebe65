"""The OpenAI chat-completions shapes Footnote accepts and returns, so OpenAI clients work unchanged.

Requests are closed and strict (service/http/strict_json.py) like every other, but they name the optional fields
OpenAI clients commonly send, so those clients are not refused for sending a `temperature` or a `user`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from service.answering import QUESTION_CHARS_LIMIT, Citation
from service.http.strict_json import WHOLE_FLOAT_AS_INT


class ContentPart(BaseModel):
    """One part of a multi-part message; only text parts carry a question."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str
    text: str | None = Field(default=None, max_length=QUESTION_CHARS_LIMIT)


class ChatMessageIn(BaseModel):
    """A message of the conversation; Footnote answers the last user message, earlier ones are its history."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = Field(default=None, max_length=QUESTION_CHARS_LIMIT)
    name: str | None = None

    def text(self) -> str:
        """The message's text, text parts joined."""
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text" and part.text)
        return self.content or ""

    def asks(self) -> bool:
        """A user message with some text: something to answer."""
        return self.role == "user" and bool(self.text().strip())


# The schema says what the validator below checks: some user message has text to answer.
_HAS_QUESTION: JsonDict = {
    "contains": {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"const": "user"},
            "content": {
                "anyOf": [
                    {"type": "string", "pattern": r"\S"},
                    {
                        "type": "array",
                        "contains": {
                            "type": "object",
                            "required": ["type", "text"],
                            "properties": {"type": {"const": "text"}, "text": {"type": "string", "pattern": r"\S"}},
                        },
                    },
                ]
            },
        },
    }
}


class ChatCompletionIn(BaseModel):
    """A chat-completions request."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(max_length=200, description="`footnote` or the configured model; others must be allowed.")
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200, json_schema_extra=_HAS_QUESTION)
    stream: bool = False
    max_tokens: Annotated[int, Field(ge=1), WHOLE_FLOAT_AS_INT] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1), WHOLE_FLOAT_AS_INT] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: Literal[1] | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: Annotated[int, WHOLE_FLOAT_AS_INT] | None = None
    user: str | None = Field(default=None, max_length=200)
    stream_options: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _has_a_question(self) -> ChatCompletionIn:
        if not any(message.asks() for message in self.messages):
            raise ValueError("the conversation needs a user message with text to answer")
        return self


class ChatMessageOut(BaseModel):
    """The assistant's reply: the cited answer with a sources list, and the citations as data."""

    role: Literal["assistant"] = "assistant"
    content: str
    citations: list[Citation] = Field(description="Footnote's extra field: each marker's exact quote.")
    abstained: bool = Field(description="Footnote's extra field: the articles do not answer the question.")


class ChoiceOut(BaseModel):
    """The one choice Footnote returns."""

    index: int = 0
    message: ChatMessageOut
    finish_reason: Literal["stop"] = "stop"


class UsageOut(BaseModel):
    """Tokens used, OpenAI style."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(BaseModel):
    """A chat completion."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
