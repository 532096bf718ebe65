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
        # A leading "when" clause is a condition; the question proper follows it.
        ("When American car companies rolled out their own cars, which policy ended?", None),
        ("When the Taliban took Kabul, who fled?", "person"),
        ("When did the policy end?", "time"),
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


def test_decades_and_centuries_are_times() -> None:
    assert can_answer("time", "One of the first Norman mercenaries to serve was Hervé in the 1050s.")
    assert can_answer("time", "The Latin word was first recorded in the 9th century.")
    assert not can_answer("time", "The word comes from Old Norse.")


def test_a_single_name_the_question_does_not_hold_answers_who() -> None:
    question = "Who was Edward the Confessor's half-brother?"
    answer = "Edward the Confessor returned in 1041, at the invitation of his half-brother Harthacnut."
    assert can_answer("person", answer, question=question)
    # Only the names the question already holds: no one new is named.
    assert not can_answer("person", "Later, Edward the Confessor returned from exile.", question=question)
    assert not can_answer(
        "person", "Russia’s plans to establish a base in Kyrgyzstan stalled.", question="Who leads Kyrgyzstan?"
    )
