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


def balanced_threshold(
    sets: Sequence[tuple[Sequence[float], Sequence[bool]]], *, tolerance: float = 0.015, step: float = 0.01
) -> Threshold:
    """The cut on a grid whose mean accuracy over the sets, each counting equally, is best; where a run of cuts
    comes within `tolerance` of that best, the middle of the run, so that no set's last example sets the cut."""
    cuts = [round(step * n, 4) for n in range(round(1 / step) + 1)]

    def mean_accuracy(cut: float) -> float:
        return sum(
            sum((score >= cut) == positive for score, positive in zip(scores, labels, strict=True)) / len(scores)
            for scores, labels in sets
        ) / len(sets)

    accuracies = [mean_accuracy(cut) for cut in cuts]
    best = max(accuracies)
    first = next(n for n, accuracy in enumerate(accuracies) if accuracy == best)
    low = high = first
    while low > 0 and accuracies[low - 1] >= best - tolerance:
        low -= 1
    while high + 1 < len(cuts) and accuracies[high + 1] >= best - tolerance:
        high += 1
    middle = (low + high) // 2
    return Threshold(cuts[middle], round(accuracies[middle], 4), sum(len(scores) for scores, _ in sets))


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
