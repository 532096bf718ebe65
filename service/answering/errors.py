"""Errors of the answering layer; like index.errors, plain exceptions mapped to messages once per surface."""

from __future__ import annotations

from index import FootnoteError


class LLMError(FootnoteError):
    """The language model provider failed (after retries)."""

    code = "llm_error"


class LLMTimeoutError(LLMError):
    """The language model did not answer in time."""

    code = "llm_timeout"
