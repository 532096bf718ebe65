"""The reader's conversations: one fixed start (instructions and a worked example), then the numbered source
sentences and the question, then one task. Only the task differs between the questions put about one set of
sentences, so a local model evaluates everything before it once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import yaml

from prompts.rendering import TEMPLATES, render
from service.answering.answer_models import Turn
from service.answering.llm import Message


def reader_messages(
    *, question: str, sentences: Sequence[str], task: str, history: Sequence[Turn] = ()
) -> list[Message]:
    """System rules, the worked examples, then the sentences, the question and the task."""
    context = render("reader_context", sentences=list(sentences), question=question, history=list(history))
    return [*fixed_start(), {"role": "user", "content": f"{context} {task}"}]


@lru_cache(maxsize=1)
def fixed_start() -> tuple[Message, ...]:
    """The conversation start every reader question shares: rules, a written answer, one question of each kind."""
    examples = yaml.safe_load((TEMPLATES / "reader_examples.yaml").read_text(encoding="utf-8"))
    sentences = list(examples["sentences"])
    messages: list[Message] = [
        {"role": "system", "content": render("reader_system")},
        {
            "role": "user",
            "content": render("reader_context", sentences=sentences, question=examples["question"], history=[])
            + " "
            + write_task(max_sentences=4),
        },
        {"role": "assistant", "content": " ".join(str(examples["answer"]).split())},
    ]
    for turn in examples["turns"]:
        asked = render("reader_followup", question=turn["question"]) + " " + _example_task(turn, sentences)
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": str(turn["reply"])}]
    return tuple(messages)


def _example_task(turn: dict[str, Any], sentences: Sequence[str]) -> str:
    if turn["task"] == "answerable":
        return answerable_task()
    if turn["task"] == "relevant":
        return relevant_task(int(turn["number"]), sentences[int(turn["number"]) - 1])
    return support_task(str(turn["claim"]), [int(n) for n in turn["numbers"]])


def write_task(*, max_sentences: int) -> str:
    """Ask for the answer itself, cited by sentence number (refusing is the judge's call, made before)."""
    return render("reader_task_write", max_sentences=max_sentences)


def answerable_task() -> str:
    """Ask whether the sentences answer the question."""
    return render("reader_task_answerable")


def relevant_task(number: int, sentence: str) -> str:
    """Ask whether one sentence states part of the answer."""
    return render("reader_task_relevant", number=number, sentence=sentence)


def support_task(claim: str, numbers: Iterable[int]) -> str:
    """Ask whether the numbered sentences state everything the claim says."""
    listed = ", ".join(f"[{n}]" for n in numbers)
    return render("reader_task_supports", claim=claim, numbers=listed)
