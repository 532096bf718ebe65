"""Prompt templates live as files beside this module and render strictly: a missing variable raises."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text for a model, not HTML
        keep_trailing_newline=False,
        trim_blocks=False,
    )


def render(name: str, **variables: Any) -> str:
    """Render `templates/<name>.j2`; an undefined variable raises jinja2.UndefinedError."""
    return _environment().get_template(f"{name}.j2").render(**variables).strip()
