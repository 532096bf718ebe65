"""Guards against indirect prompt injection: instruction-like source text is never evidence, and model
output carrying links or images (the exfiltration channel in the OWASP Top 10 for LLM apps) is never shipped."""

from __future__ import annotations

import re

_LINK_OR_IMAGE = re.compile(
    r"!\[[^\]]*\]\([^)]*\)|\[[^\]]*\]\([^)]*\)|\b(?:https?|ftp|javascript|data):\S+|\bwww\.\S+", re.IGNORECASE
)
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.]{0,40}\b(?:instructions?|rules?|prompts?|directions?)\b"
    r"|\b(?:system prompt|reveal (?:the|your) (?:prompt|instructions))\b"
    r"|\b(?:reply|respond|answer)\s+only\s+with\b"
    r"|\byou (?:must|should) now\b",
    re.IGNORECASE,
)


def has_link_or_image(text: str) -> bool:
    """Markdown links or images, or bare URLs."""
    return bool(_LINK_OR_IMAGE.search(text))


def looks_like_instruction(text: str) -> bool:
    """Text addressed to an AI assistant rather than to a reader, as planted in hostile documents."""
    return bool(_INSTRUCTION.search(text))
