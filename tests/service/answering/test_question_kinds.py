"""Questions that ask for a number, a time or a person need a sentence that holds one."""

from __future__ import annotations

import pytest

from service.answering.question_kinds import can_answer, expected_answer_type


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many militants are on the border?", "number"),
        ("What is the population of Kabul?", "number"),
        ("How much does Russia spend on the base?", "number"),
        ("When did Russia hold drills?", "time"),
        ("On what exact date did Kabul fall?", "time"),
        ("Who is the president of Tajikistan?", "person"),
        ("Why is Russia expanding its role?", None),
        ("What did Lavrov say?", None),
    ],
)
def test_expected_answer_type(question: str, expected: str | None) -> None:
    assert expected_answer_type(question) == expected


def test_can_answer() -> None:
    assert can_answer("number", "It includes 3,000 militants.")
    assert can_answer("number", "There may be millions of refugees.")
    assert not can_answer("number", "Russia is concerned about its southern flank.")
    assert can_answer("time", "On August 5, Russia carried out drills.")
    assert not can_answer("time", "Russia carried out drills in Tajikistan.")
    assert can_answer("person", "Tajikistan’s President Emomali Rahmon sounded the alarm.")
    assert not can_answer("person", "The drills were large.")
    assert can_answer(None, "Anything at all.")
