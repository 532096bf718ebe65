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
# A question with at most this many content words cannot stand on its own ("when was that?").
_SHORT_FOLLOW_UP_TERMS = 1


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question to search with: unchanged without history or when it stands on its own."""
    previous = next((turn.content for turn in reversed(history) if turn.role == "user"), None)
    if previous is None:
        return question
    continuation = _CONTINUATION.match(question)
    remainder = question[continuation.end() :].strip(" ?.!") if continuation else question.strip(" ?.!")
    if continuation and remainder and all(word[:1].isupper() for word in remainder.split()):
        # "and China?" after "why is Russia expanding its role?" -> "why is China expanding its role?"
        entities = _ENTITY.findall(previous)
        if entities:
            return previous.replace(entities[0], remainder, 1)
    if continuation or len(content_terms(question)) <= _SHORT_FOLLOW_UP_TERMS or _REFERRING.search(question):
        return f"{previous} {question}"
    return question
