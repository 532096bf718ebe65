"""Judges of "do these passages support this sentence?", pluggable and always named in the reports.

`LlmJudge` asks a language model (through litellm) per (sentence, passages) pair, as ALCE asks its NLI model.
`OfflineSupportJudge` uses the project's own support scorer, which also verifies answers: its figures measure
agreement with Footnote's own verifier, not ALCE scores, and the reports say so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from prompts.rendering import render
from service.answering import ChatModel, SupportScorer

_FIRST_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Verdict:
    """A judge's decision, with its score in [0, 1] when the judge has one."""

    supported: bool
    score: float | None = None


class Judge(Protocol):
    """Decides whether passages, taken together, support a sentence."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> Literal["llm", "offline"]: ...

    def judge(self, sentence: str, passages: Sequence[str]) -> Verdict: ...


class OfflineSupportJudge:
    """The support scorer the answering pipeline verifies with, on the passages joined into one text."""

    kind: Literal["llm", "offline"] = "offline"

    def __init__(self, scorer: SupportScorer, *, threshold: float) -> None:
        self._scorer = scorer
        self.threshold = threshold

    @property
    def name(self) -> str:
        return f"offline:{self._scorer.name}@{self.threshold}"

    def judge(self, sentence: str, passages: Sequence[str]) -> Verdict:
        """Supported when the scorer's score for the joined passages reaches the threshold."""
        score = float(self._scorer.score_matrix([sentence], ["\n".join(passages)])[0, 0])
        return Verdict(supported=score >= self.threshold, score=round(score, 4))


class LlmJudge:
    """A language model asked, per pair, whether the passages support the sentence; it answers yes or no."""

    kind: Literal["llm", "offline"] = "llm"

    def __init__(self, chat_model: ChatModel) -> None:
        self._chat_model = chat_model

    @property
    def name(self) -> str:
        return f"llm:{self._chat_model.name}"

    def judge(self, sentence: str, passages: Sequence[str]) -> Verdict:
        """Supported when the reply's first word is yes; anything else counts as not supported."""
        prompt = render("judge_support", claim=sentence, passages=list(passages))
        reply = self._chat_model.complete([{"role": "user", "content": prompt}]).text
        first = _FIRST_WORD.search(reply.lower())
        supported = first is not None and first.group() in {"yes", "supported"}
        return Verdict(supported=supported, score=1.0 if supported else 0.0)


class RecordingJudge:
    """Wraps a judge: asks it once per distinct (sentence, passages) pair and keeps every verdict for the report."""

    def __init__(self, judge: Judge) -> None:
        self.judge = judge
        self._cache: dict[tuple[str, tuple[str, ...]], Verdict] = {}
        self.log: list[tuple[str, tuple[str, ...], Verdict]] = []

    def supports(self, sentence: str, passages: Sequence[str]) -> bool:
        """The `Supports` callable the metrics take."""
        key = (sentence, tuple(passages))
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self.judge.judge(sentence, passages)
            self._cache[key] = verdict
        self.log.append((sentence, key[1], verdict))
        return verdict.supported

    def take_log(self) -> list[tuple[str, tuple[str, ...], Verdict]]:
        """The verdicts since the last call, emptying the log (one answer's worth at a time)."""
        log, self.log = self.log, []
        return log
