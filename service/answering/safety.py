"""Guards against indirect prompt injection (OWASP LLM01) and improper output (LLM05).

Instruction-like source text is never evidence, so it is never quoted or used to support a claim; model output
carrying links or images (the exfiltration channel) is never shipped; and a canary placed in the system prompt
never reaches the user, in an answer or in a streamed draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from index import split_sentences

_LINK_OR_IMAGE = re.compile(
    r"!\[[^\]]*\]\([^)]*\)|\[[^\]]*\]\([^)]*\)|\b(?:https?|ftp|javascript|data):\S+|\bwww\.\S+", re.IGNORECASE
)
# Markup that a renderer would turn into a request or a click: never quoted from a source either.
_MARKUP_LINK = re.compile(
    r"!?\[[^\]]*\]\(\s*(?:[a-z][a-z0-9+.-]*:|www\.|/)[^)]*\)|\b(?:javascript|data|vbscript):\S+|<\s*(?:img|a|script)\b",
    re.IGNORECASE,
)

# Who a planted instruction addresses: an assistant, a model, a bot, or "whoever" summarises the page.
_ADDRESSEE = (
    r"(?:AI|A\.I\.|LLMs?|GPT|assistants?|chat\s?bots?|bots?|(?:language|AI)\s+models?|AI\s+(?:assistants?|systems?))"
)
_LANGUAGE = (
    r"(?:French|Spanish|German|Italian|Portuguese|Dutch|Russian|Chinese|Japanese|Korean|Arabic|Hindi|Turkish"
    r"|Polish|Swedish|Latin|another\s+language|a\s+different\s+language)"
)
_ANSWER = r"(?:answers?|repl(?:y|ies)|responses?|outputs?|summar(?:y|ies)|messages?)"
_INSTRUCTION = re.compile(
    "|".join(
        [
            # "ignore all previous instructions", "disregard the rules above", "override the prompt"
            r"\b(?:ignore|disregard|forget|override)\b[^.]{0,40}\b(?:instructions?|rules?|prompts?|directions?"
            r"|questions?|guidelines?)\b",
            r"\bsystem\s+prompt\b|\bdeveloper\s+message\b|\bhidden\s+(?:text|prompt|instructions?)\b",
            r"\bconfidential\s+marker\b|\bsecret\s+(?:markers?|codes?|canary)\b",
            r"\b(?:reveal|disclose|print|repeat|output|show|write\s+out|quote)\b[^.]{0,40}\byour\s+"
            r"(?:instructions?|prompt|rules?|configuration)\b",
            r"\b(?:reply|respond|answer)\s+only\s+with\b|\byou\s+(?:must|should)\s+now\b",
            r"\b(?:new|updated|real|only)\s+(?:instructions?|task|session|orders?)\b|\bfrom\s+now\s+on\b",
            r"\bend\s+of\s+(?:the\s+)?(?:document|context|passage)\b",
            # "Note to AI assistants:", "Instruction for the assistant:", "Chatbot instruction:"
            rf"\b(?:notes?|instructions?|messages?|memo)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:{_ADDRESSEE}|models?)\b",
            rf"\b{_ADDRESSEE}\s+(?:instructions?|note)\b",
            rf"\b(?:for|to)\s+any\s+{_ADDRESSEE}\b|\bif\s+an?\s+{_ADDRESSEE}\b",
            # "Assistant: ...", "AI model, ...", "SYSTEM: ..." at the start of a sentence
            rf"^\W*(?:{_ADDRESSEE}|system|developer|admin(?:istrator)?)\s*[:,]",
            rf"\b{_ADDRESSEE}\s+(?:must|should|shall|need\s+to|are\s+required\s+to|reading\s+this)\b",
            r"\b(?:any|every|each)\s+(?:assistant|AI|bot|chatbot)\b",
            # Orders about the answer itself
            rf"\b(?:respond|reply|answer|write|translate|switch|speak)\b[^.]{{0,40}}\b(?:in|into|to)\s+{_LANGUAGE}",
            rf"\b{_LANGUAGE}\s+only\b",
            rf"\b(?:in|to|into|with|end|start|begin)\s+(?:your|every|each)\s+(?:whole\s+)?{_ANSWER}\b",
            rf"\byour\s+(?:whole\s+|entire\s+)?{_ANSWER}\b",
            rf"\bevery\s+{_ANSWER}\b",
            r"\b(?:tell|inform|remind|direct)\s+(?:the\s+)?(?:users?|readers?)\b",
            r"\bwhen\s+you\s+(?:answer|reply|respond|summari[sz]e|quote)\b|\bwhen\s+(?:you\s+are\s+)?asked\s+about\b",
            r"\bwhatever\s+(?:you\s+are\s+asked|the\s+question)\b",
            r"\bcite\b[^.]{0,60}\bas\s+(?:your|the)\s+source\b|\bcite\s+document\b",
            r"\b(?:render|include|add|append|embed)\s+(?:this|the\s+following)\s+(?:markdown|link|image|url)\b",
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)


def has_link_or_image(text: str) -> bool:
    """Markdown links or images, or bare URLs."""
    return bool(_LINK_OR_IMAGE.search(text))


def has_markup_link(text: str) -> bool:
    """Markdown links or images, HTML image/link/script tags, or script URLs: things a renderer would act on."""
    return bool(_MARKUP_LINK.search(text))


def looks_like_instruction(text: str) -> bool:
    """Text addressed to an AI assistant rather than to a reader, as planted in hostile documents."""
    return bool(_INSTRUCTION.search(text))


def unquotable(text: str) -> bool:
    """Source text that must never be evidence: planted instructions, and markup that would fire a request."""
    return looks_like_instruction(text) or has_markup_link(text)


REMOVED_FROM_PROMPT = "[text addressed to an AI assistant was removed]"


def without_planted_instructions(text: str) -> str:
    """The text with its unquotable sentences replaced by a notice, for the model's prompt: what can never be
    evidence need not be shown to the model either, where it could only mislead it."""
    spans = split_sentences(text)
    if not any(unquotable(text[span.start : span.end]) for span in spans):
        return text
    parts: list[str] = []
    last = 0
    for span in spans:
        if unquotable(text[span.start : span.end]):
            parts += [text[last : span.start], REMOVED_FROM_PROMPT]
            last = span.end
    parts.append(text[last:])
    return "".join(parts)


def _folded(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def contains_secret(text: str, secret: str | None) -> bool:
    """Whether `text` holds `secret`, also when spaced out, punctuated or in another case."""
    if not secret:
        return False
    folded = _folded(secret)
    return bool(folded) and folded in _folded(text)


def withhold_secret(deltas: Iterable[str], secret: str | None) -> Iterator[str]:
    """Pass streamed text through, held back a little, and stop for good where the secret starts to appear.

    Deltas lag behind the model by a window longer than the secret (spelled out with separators), so a secret
    split across deltas is caught before any of it is sent; what follows a leak is never streamed (the verified
    answer, which drops the leaking sentence, still arrives).
    """
    if not secret:
        yield from deltas
        return
    window = 4 * len(secret) + 16
    pending = ""
    leaked = False
    for delta in deltas:
        if leaked:
            continue  # keep consuming, so the model's reply is still collected in full
        pending += delta
        if contains_secret(pending, secret):
            leaked = True
            continue
        if len(pending) > window:
            ready, pending = pending[:-window], pending[-window:]
            yield ready
    if not leaked and pending:
        yield pending
