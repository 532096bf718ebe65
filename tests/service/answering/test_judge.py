"""The judge: P(yes) read from log-probabilities or logits, and the model support scorer over the heuristic."""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import numpy.typing as npt
import pytest

from service.answering.judge import (
    LocalYesNoModel,
    ModelSupportScorer,
    _probability_from_response,
    support_conversation,
)
from service.answering.local_llm import LLAMA_LOCK, chatml_turns, local_llama
from service.answering.model_files import models_dir
from service.answering.reader_prompts import fixed_start
from tests.fakes import FakeYesNoModel


def _response(*, top: list[tuple[str, float]] | None, text: str) -> SimpleNamespace:
    logprobs = None
    if top is not None:
        candidates = [SimpleNamespace(token=token, logprob=logprob) for token, logprob in top]
        logprobs = SimpleNamespace(content=[SimpleNamespace(top_logprobs=candidates)])
    choice = SimpleNamespace(logprobs=logprobs, message=SimpleNamespace(content=text))
    return SimpleNamespace(choices=[choice])


def test_a_hosted_judge_reads_yes_against_no_from_the_first_token() -> None:
    top = [("Yes", math.log(0.6)), (" yes", math.log(0.1)), ("No", math.log(0.2)), ("Maybe", math.log(0.1))]
    assert _probability_from_response(_response(top=top, text="Yes")) == pytest.approx(0.7 / 0.9)
    # Only one side among the top tokens: certain; no log-probabilities at all: the reply's first word decides.
    assert _probability_from_response(_response(top=[("no", -0.1)], text="no")) == 0.0
    assert _probability_from_response(_response(top=None, text="Yes, it does.")) == 1.0
    assert _probability_from_response(_response(top=None, text="No.")) == 0.0


class _TableScorer:
    """Heuristic scores from a table: decides which quotes the judge is asked about."""

    name = "table"

    def __init__(self, table: list[list[float]]) -> None:
        self._table = np.asarray(table, dtype=np.float32)

    def score_matrix(self, claims: Sequence[str], quotes: Sequence[str]) -> npt.NDArray[np.float32]:
        return self._table[: len(claims), : len(quotes)]


def test_the_model_scorer_asks_only_about_the_heuristic_shortlist() -> None:
    judge = FakeYesNoModel()
    quotes = ["The repairs will cost four million euros.", "A ferry runs.", "The repairs will cost four euros."]
    heuristic = _TableScorer([[0.9, 0.05, 0.8]])
    scores = ModelSupportScorer(judge, heuristic, shortlist=2, floor=0.15).score_matrix(
        ["The repairs will cost four million euros."], quotes
    )
    # The first quote states it, the third (shortlisted, missing "million") does not, the second is never asked.
    assert scores[0, 0] > 0.9 and scores[0, 2] < 0.1 and scores[0, 1] == 0.0
    assert len(judge.asked) == 2


def test_a_support_question_numbers_its_quotes() -> None:
    messages = support_conversation("A claim.", ["First quote.", "Second quote."])
    assert messages[-1]["content"].startswith("Sentences:\n[1] First quote.\n[2] Second quote.")
    assert "Claim: A claim." in messages[-1]["content"] and "[1], [2]" in messages[-1]["content"]


@pytest.mark.slow
def test_the_embedded_judge_tells_support_from_a_wrong_number() -> None:
    judge = LocalYesNoModel(name="footnote/qwen2.5-coder-1.5b")
    evidence = ["On August 5, Russia carried out military drills in Tajikistan and Uzbekistan."]
    supported, wrong_date, wrong_place = judge.yes_probabilities(
        [
            support_conversation("Russia held military drills in Tajikistan on August 5.", evidence),
            support_conversation("Russia held military drills in Tajikistan on August 25.", evidence),
            support_conversation("Russia held military drills in Kazakhstan on August 5.", evidence),
        ]
    )
    assert supported > 0.5 > max(wrong_date, wrong_place)


@pytest.mark.slow
def test_the_embedded_judge_starts_each_process_from_the_readers_saved_fixed_start() -> None:
    judge = LocalYesNoModel(name="footnote/qwen2.5-coder-1.5b")
    judge.preload()
    with LLAMA_LOCK:
        llama = local_llama()
        start = llama.tokenize(chatml_turns(fixed_start()).encode(), add_bos=False, special=True)
        assert llama.n_tokens >= len(start)
        assert llama.input_ids[: len(start)].tolist() == start
    # Saved for the next process, under a name only this model, build and start produce.
    assert list((models_dir() / "prompt-states").glob("*.state"))
