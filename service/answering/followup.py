"""Turn a follow-up question ("and China?") into a standalone one for retrieval, by a simple tested rule."""

from __future__ import annotations

import re
from collections.abc import Sequence

from index import content_terms
from service.answering.answer_models import Turn

_CONTINUATION = re.compile(r"^\s*(?:and|but|also|so|then|what about|how about|and what about)\b[\s,]*", re.IGNORECASE)
_REFERRING = re.compile(
    r"\b(?:it|its|they|them|their|this|that|these|those|he|she|his|her|there|then|why|how so)\b", re.IGNORECASE
)
# A capitalised word inside a question, not its first word: the entity a follow-up may swap.
_ENTITY = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")
# The same without the first-word exception, for a follow-up's remainder ("Uzbekistan's president").
_ANY_ENTITY = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")
_POSSESSIVE = re.compile(r"[’']s$")
# A question with at most this many content words cannot stand on its own ("when was that?").
_SHORT_FOLLOW_UP_TERMS = 1


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question to search with: unchanged without history or when it stands on its own."""
    previous = next((turn.content for turn in reversed(history) if turn.role == "user"), None)
    if previous is None:
        return question
    continuation = _CONTINUATION.match(question)
    remainder = question[continuation.end() :].strip(" ?.!") if continuation else question.strip(" ?.!")
    swapped = _with_entity_swapped(previous, remainder) if continuation and remainder else None
    if swapped is not None:
        return swapped
    if continuation or len(content_terms(question)) <= _SHORT_FOLLOW_UP_TERMS or _REFERRING.search(question):
        return f"{previous} {question}"
    return question


def _with_entity_swapped(previous: str, remainder: str) -> str | None:
    """The previous question about the follow-up's one entity instead of its first, when the follow-up adds
    nothing else: "and China?" after "why is Russia expanding its role?" -> "why is China expanding its role?",
    "And Uzbekistan's president?" after "Who is Tajikistan's president?" -> "Who is Uzbekistan's president?"
    (glued together instead, the judge read the question as answered by Tajikistan's president)."""
    new = _ANY_ENTITY.findall(remainder)
    old = _ENTITY.findall(previous)
    if len(new) != 1 or not old:
        return None
    rest = _ANY_ENTITY.sub(" ", remainder)
    if not set(content_terms(rest)) <= set(content_terms(previous)):
        return None
    # The names without a possessive, so "Tajikistan's president" and "president of Tajikistan" both swap.
    return previous.replace(_POSSESSIVE.sub("", old[0]), _POSSESSIVE.sub("", new[0]), 1)
