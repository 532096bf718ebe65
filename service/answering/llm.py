"""The one door to language models: litellm, for hosted models, Ollama, OpenAI-compatible servers and the
embedded default alike."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from index.threads import thread_counts
from service.answering.errors import LLMError, LLMTimeoutError
from service.answering.local_llm import LOCAL_PROVIDER, preload_local_model, register_local_provider

Message = dict[str, str]


@dataclass(frozen=True)
class Completion:
    """A model's reply with its token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int


class ChatModel(Protocol):
    """Anything that turns chat messages into a reply, whole or streamed."""

    @property
    def name(self) -> str: ...

    def complete(self, messages: Sequence[Message]) -> Completion: ...

    def stream(self, messages: Sequence[Message]) -> Iterator[str]: ...


@dataclass(frozen=True)
class LLMSettings:
    """How to reach the model; every field has an offline default."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    retries: int = 1
    max_tokens: int = 256
    temperature: float = 0.0
    local_threads: int = thread_counts().llama  # index/threads.py: every core but one, at most 8


def import_litellm() -> Any:
    """Import litellm without it fetching a model price list over the network."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    return litellm


class LiteLLMChatModel:
    """A chat model called through litellm: any litellm model string works."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings

    @property
    def name(self) -> str:
        return self.settings.model

    def complete(self, messages: Sequence[Message]) -> Completion:
        """The whole reply; provider failures become LLMError, time-outs LLMTimeoutError."""
        litellm = self._litellm()
        try:
            response = litellm.completion(messages=list(messages), **self.request_arguments())
        except Exception as error:
            raise _translate(litellm, error) from error
        usage = getattr(response, "usage", None)
        return Completion(
            text=response.choices[0].message.content or "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """The reply as text deltas."""
        litellm = self._litellm()
        try:
            for chunk in litellm.completion(messages=list(messages), stream=True, **self.request_arguments()):
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    yield delta
        except Exception as error:
            raise _translate(litellm, error) from error

    def preload(self) -> None:
        """Load an embedded model's weights now (a hosted model has nothing to load)."""
        self._litellm()
        if self.settings.model.startswith(f"{LOCAL_PROVIDER}/"):
            preload_local_model(threads=self.settings.local_threads)

    def _litellm(self) -> Any:
        litellm = import_litellm()
        if self.settings.model.startswith(f"{LOCAL_PROVIDER}/"):
            register_local_provider(threads=self.settings.local_threads)
        return litellm

    def request_arguments(self) -> dict[str, Any]:
        """The litellm call's arguments: model, limits, time-out, retries and where to reach the provider."""
        arguments: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": self.settings.max_tokens,
            "temperature": self.settings.temperature,
            "timeout": self.settings.timeout_s,
            # Retrying the in-process model only repeats the same slow work; retries are for remote providers.
            "num_retries": 0 if self.settings.model.startswith(f"{LOCAL_PROVIDER}/") else self.settings.retries,
        }
        if self.settings.api_base:
            arguments["api_base"] = self.settings.api_base
        if self.settings.api_key:
            arguments["api_key"] = self.settings.api_key
        return arguments


def _translate(litellm: Any, error: Exception) -> LLMError:
    if isinstance(error, LLMError):
        return error
    if isinstance(error, litellm.exceptions.Timeout):
        return LLMTimeoutError(f"the language model did not answer in time: {error}")
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return LLMError(f"the language model failed: {message}")
