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


def test_without_history_the_question_is_unchanged() -> None:
    assert standalone_question("and China?", []) == "and China?"
    assert standalone_question("and China?", [Turn(role="assistant", content="Hello.")]) == "and China?"
