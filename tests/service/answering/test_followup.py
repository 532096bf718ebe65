"""Follow-up questions become standalone questions for retrieval."""

from __future__ import annotations

import pytest

from service.answering.answer_models import Turn
from service.answering.followup import standalone_question

HISTORY = [
    Turn(role="user", content="why is Russia expanding its role?"),
    Turn(role="assistant", content="Because it worries about its southern flank [1]."),
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and China?", "why is China expanding its role?"),
        ("What about Uzbekistan?", "why is Uzbekistan expanding its role?"),
        ("when was that?", "why is Russia expanding its role? when was that?"),
        ("Why?", "why is Russia expanding its role? Why?"),
        ("Who is the president of Tajikistan?", "Who is the president of Tajikistan?"),
    ],
)
def test_follow_ups(question: str, expected: str) -> None:
    assert standalone_question(question, HISTORY) == expected


TAJIK_HISTORY = [
    Turn(role="user", content="Who is Tajikistan's president?"),
    Turn(role="assistant", content="Tajikistan's President is Emomali Rahmon [1]."),
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # The follow-up names a new entity and repeats the rest: the entity is swapped, possessive or not.
        ("And Kyrgyzstan's president?", "Who is Kyrgyzstan's president?"),
        ("and Kyrgyzstan?", "Who is Kyrgyzstan's president?"),
        # It asks something the previous question did not: swapping would lose "army", so both are searched.
        ("And Kyrgyzstan's army?", "Who is Tajikistan's president? And Kyrgyzstan's army?"),
        # Two new entities: which one replaces which is unknowable.
        ("And Kyrgyzstan or Kazakhstan?", "Who is Tajikistan's president? And Kyrgyzstan or Kazakhstan?"),
    ],
)
def test_a_follow_up_about_another_entity_asks_the_previous_question_of_it(question: str, expected: str) -> None:
    assert standalone_question(question, TAJIK_HISTORY) == expected


def test_without_history_the_question_is_unchanged() -> None:
    assert standalone_question("and China?", []) == "and China?"
    assert standalone_question("and China?", [Turn(role="assistant", content="Hello.")]) == "and China?"
