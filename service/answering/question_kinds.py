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
# "When American car companies rolled out their own cars, which policy ended?" asks for a policy, not a time: a
# leading "when ..." clause followed by a question word is a condition, and the question proper comes after it.
_LEADING_WHEN_CLAUSE = re.compile(r"^\s*when\b[^?]*?,\s*(?=(?:what|which|who|whom|how|where|why)\b)", re.IGNORECASE)

_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?"
    r"|thousands?|millions?|billions?|dozens?|several|few|many)\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(?:\d{4}s?|\d{1,2}(?:st|nd|rd|th) centur(?:y|ies)|centur(?:y|ies)"
    r"|January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|ago|last (?:week|month|year)"
    r"|recently|decades?|years?|months?|weeks?|since|until|before|after)\b",
    re.IGNORECASE,
)
_PERSON = re.compile(
    r"\b(?:President|Minister|Secretary|spokes(?:man|woman|person)|ambassador|analyst|leader|chief|envoy|general"
    r"|commander|official)\b"
    r"|\b[A-Z][a-z]+ [A-Z][a-z]+\b",
)
# A single capitalised word inside a sentence is a name too ("at the invitation of his half-brother Harthacnut"),
# when the question does not already hold it: "Who is the president of Kyrgyzstan?" is not answered by a sentence
# whose only name is Kyrgyzstan.
_INNER_NAME = re.compile(r"(?<=[^\s.!?\"“(])\s+([A-Z]\w*)")


def expected_answer_type(question: str) -> AnswerType | None:
    """The kind of answer the question asks for, when it is one of the checkable kinds."""
    question = _LEADING_WHEN_CLAUSE.sub("", question, count=1)
    if _NUMBER_QUESTION.search(question):
        return "number"
    if _TIME_QUESTION.search(question):
        return "time"
    if _PERSON_QUESTION.search(question):
        return "person"
    return None


def can_answer(answer_type: AnswerType | None, sentence: str, *, question: str = "") -> bool:
    """Whether the sentence holds something of the asked kind (always true when the kind is unknown); a person
    may be a name the question does not hold."""
    if answer_type == "number":
        return bool(_NUMBER.search(sentence))
    if answer_type == "time":
        return bool(_TIME.search(sentence))
    if answer_type == "person":
        asked = {word.lower() for word in re.findall(r"\w+", question)}
        return bool(_PERSON.search(sentence)) or any(
            name.lower() not in asked for name in _INNER_NAME.findall(sentence)
        )
    return True
