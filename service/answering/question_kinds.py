"""What kind of answer a question asks for, and whether a source sentence can supply it.

Relevance alone cannot tell "the articles discuss Kyrgyzstan" from "the articles name Kyrgyzstan's
president": a question that asks for a number, a time or a person needs a sentence that holds one.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["number", "time", "person"]

_NUMBER_QUESTION = re.compile(
    r"^\s*(?:how (?:many|much|long|far|old|large|big)|what (?:percentage|proportion|share|number)"
    r"|what (?:is|was|are|were) the (?:population|number|price|cost|size|budget|death toll|casualt))",
    re.IGNORECASE,
)
_TIME_QUESTION = re.compile(
    r"^\s*(?:when\b|(?:on|in|by) what (?:exact )?(?:date|day|year|month)|what (?:exact )?(?:date|day|year|month)"
    r"|(?:on|in) which (?:date|day|year|month))",
    re.IGNORECASE,
)
_PERSON_QUESTION = re.compile(r"^\s*(?:who|whom)\b", re.IGNORECASE)

_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?"
    r"|thousands?|millions?|billions?|dozens?|several|few|many)\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(?:\d{4}|January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|ago|last (?:week|month|year)"
    r"|recently|decades?|years?|months?|weeks?|since|until|before|after)\b",
    re.IGNORECASE,
)
_PERSON = re.compile(
    r"\b(?:President|Minister|Secretary|spokes(?:man|woman|person)|ambassador|analyst|leader|chief|envoy|general"
    r"|commander|official)\b"
    r"|\b[A-Z][a-z]+ [A-Z][a-z]+\b",
)


def expected_answer_type(question: str) -> AnswerType | None:
    """The kind of answer the question asks for, when it is one of the checkable kinds."""
    if _NUMBER_QUESTION.search(question):
        return "number"
    if _TIME_QUESTION.search(question):
        return "time"
    if _PERSON_QUESTION.search(question):
        return "person"
    return None


def can_answer(answer_type: AnswerType | None, sentence: str) -> bool:
    """Whether the sentence holds something of the asked kind (always true when the kind is unknown)."""
    if answer_type == "number":
        return bool(_NUMBER.search(sentence))
    if answer_type == "time":
        return bool(_TIME.search(sentence))
    if answer_type == "person":
        return bool(_PERSON.search(sentence))
    return True
