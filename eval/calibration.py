"""Fit the answering thresholds on the development sets: support (claim vs quote) and relevance (abstain or not)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from service.answering import Answerer, SupportScorer, Turn
from service.answering.extractive import top_relevance
from service.answering.followup import standalone_question


@dataclass(frozen=True)
class Threshold:
    """A fitted threshold with the accuracy it reaches on the set it was fitted on."""

    value: float
    accuracy: float
    examples: int


def best_threshold(scores: Sequence[float], positives: Sequence[bool]) -> Threshold:
    """The cut (midway between neighbouring scores) that classifies score >= cut as positive most accurately."""
    ordered = sorted(set(scores))
    cuts = (
        [ordered[0] - 1e-6] + [(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)] + [ordered[-1] + 1e-6]
    )
    best = Threshold(0.0, -1.0, len(scores))
    for cut in cuts:
        correct = sum((score >= cut) == positive for score, positive in zip(scores, positives, strict=True))
        accuracy = correct / len(scores)
        # Ties go to the higher cut: a wrong citation costs more than a missed one.
        if accuracy >= best.accuracy:
            best = Threshold(round(cut, 4), round(accuracy, 4), len(scores))
    return best


def read_jsonl(path: Path) -> list[dict[str, object]]:
    """Every JSON object of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fit_support(scorer: SupportScorer, rows: Sequence[dict[str, object]]) -> Threshold:
    """The support threshold separating supported from unsupported claim/evidence pairs."""
    scores = [float(scorer.score_matrix([str(r["claim"])], [str(r["evidence"])])[0, 0]) for r in rows]
    return best_threshold(scores, [r["label"] == "supported" for r in rows])


def fit_relevance(answerer: Answerer, rows: Sequence[dict[str, object]]) -> Threshold:
    """The relevance threshold separating answerable from unanswerable questions."""
    scores = []
    for row in rows:
        history = [Turn.model_validate(turn) for turn in row.get("history", []) or []]  # type: ignore[attr-defined]
        question = standalone_question(str(row["question"]), history)
        passages = answerer.retriever.search(question, k=answerer.settings.k)
        scores.append(top_relevance(answerer.rank_evidence(question, passages)))
    return best_threshold(scores, [bool(row["answerable"]) for row in rows])
