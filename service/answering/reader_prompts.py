"""The reader's conversations: one fixed start (instructions and a worked example), then the numbered source
sentences and the question, then one task. Only the task differs between the questions put about one set of
sentences, so a local model evaluates everything before it once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prompts.rendering import render
from service.answering.answer_models import Turn
from service.answering.llm import Message


def reader_messages(
    *, question: str, sentences: Sequence[str], task: str, history: Sequence[Turn] = ()
) -> list[Message]:
    """System rules, the worked example, then the sentences, the question and the task."""
    context = render("reader_context", sentences=list(sentences), question=question, history=list(history))
    return [
        {"role": "system", "content": render("reader_system")},
        {"role": "user", "content": render("reader_example_user")},
        {"role": "assistant", "content": render("reader_example_answer")},
        {"role": "user", "content": f"{context} {task}"},
    ]


def write_task(*, max_sentences: int, refusal: str) -> str:
    """Ask for the answer itself, cited by sentence number."""
    return render("reader_task_write", max_sentences=max_sentences, refusal=refusal)


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
