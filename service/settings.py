"""Footnote's one settings class, read from FOOTNOTE_* environment variables through a cached getter.

The composition root: the answering pipeline's settings (service/answering/config.py, which also holds the
index and model settings) with the HTTP API's added. Each setting has one default and one set of bounds.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr

from service.answering import QUESTION_CHARS_LIMIT, AnsweringConfig


class Settings(AnsweringConfig):
    """Every knob, with a default that works offline on the bundled corpus and models."""

    # --- HTTP API (see the README's "Keys and origins" and "Limits") ---
    host: str = Field(default="127.0.0.1", description="Address `footnote serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535)
    admin_key: SecretStr | None = Field(default=None, description="Secret key required for every write.")
    site_keys: dict[str, list[str]] = Field(
        default_factory=dict, description="Public widget keys, each with the origins allowed to use it (JSON)."
    )
    allowed_models: list[str] = Field(
        default_factory=list, description="Models a request may ask for besides the configured one."
    )
    max_question_chars: int = Field(default=1000, ge=10, le=QUESTION_CHARS_LIMIT)
    max_history_turns: int = Field(default=20, ge=0, le=1000)
    max_body_bytes: int = Field(default=1_000_000, ge=1000)
    max_upload_bytes: int = Field(default=20_000_000, ge=1000)
    max_tokens_cap: int = Field(default=1024, ge=16, le=32768, description="Ceiling on a request's max_tokens.")
    rate_limit_per_minute: int = Field(default=60, ge=1, description="Requests per minute per key.")
    rate_limit_per_address: int = Field(default=120, ge=1, description="Requests per minute per client address.")
    max_concurrent_generations: int = Field(default=2, ge=1, le=64)
    max_queued_generations: int = Field(default=8, ge=0, le=1000)
    queue_timeout_s: float = Field(default=30.0, gt=0, le=600)
    max_generations_per_address: int = Field(
        default=1, ge=1, le=1000, description="Answers one client address may have generating or queued at once."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call `get_settings.cache_clear()` after changing the env."""
    return Settings()
