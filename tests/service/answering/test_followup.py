"""Follow-up questions become standalone questions for retrieval."""

from __future__ import annotations

import pytest

from service.answering.answer_models import Turn
from service.answering.followup import standalone_question

RUSSIA = "why is Russia expanding its role?"
TAJIK = "Who is Tajikistan's president?"


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        (RUSSIA, "and China?", "why is China expanding its role?"),
        (RUSSIA, "What about Uzbekistan?", "why is Uzbekistan expanding its role?"),
        (RUSSIA, "when was that?", "why is Russia expanding its role? when was that?"),
        (RUSSIA, "Why?", "why is Russia expanding its role? Why?"),
        (RUSSIA, "Who is the president of Tajikistan?", "Who is the president of Tajikistan?"),
        # The follow-up names a new entity and repeats the rest: the entity is swapped, possessive or not.
        (TAJIK, "And Kyrgyzstan's president?", "Who is Kyrgyzstan's president?"),
        (TAJIK, "and Kyrgyzstan?", "Who is Kyrgyzstan's president?"),
        # It asks something the previous question did not: swapping would lose "army", so both are searched.
        (TAJIK, "And Kyrgyzstan's army?", "Who is Tajikistan's president? And Kyrgyzstan's army?"),
        # Two new entities: which one replaces which is unknowable.
        (TAJIK, "And Kyrgyzstan or Kazakhstan?", "Who is Tajikistan's president? And Kyrgyzstan or Kazakhstan?"),
    ],
)
def test_follow_ups(previous: str, question: str, expected: str) -> None:
    history = [Turn(role="user", content=previous), Turn(role="assistant", content="An answer [1].")]
    assert standalone_question(question, history) == expected


def test_without_history_the_question_is_unchanged() -> None:
    assert standalone_question("and China?", []) == "and China?"
    assert standalone_question("and China?", [Turn(role="assistant", content="Hello.")]) == "and China?"
