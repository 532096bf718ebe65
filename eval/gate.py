"""The CI gate: fail a run whose figures fall below thresholds; quote fidelity must always be 100%."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from index import FootnoteError

EXIT_GATE_FAILED = 3
# Figures where higher is better, so a floor makes sense; latencies and refusal rates are reported, not gated.
GATED_METRICS = (
    "completion_rate",
    "quote_fidelity",
    "citation_recall",
    "citation_precision",
    "citation_document_precision",
    "fact_recall",
    "fact_recall_all_answerable",
    "answer_in_quotes",
    "decision_accuracy",
    "abstention_precision",
    "abstention_recall",
    "abstention_f1",
    "retrieval_recall_at_k",
)


class GateSpecError(FootnoteError):
    """A `--fail-under` threshold that cannot be read."""

    code = "invalid_gate"


@dataclass(frozen=True)
class Failure:
    """One figure below its floor, or missing (None: nothing in the run it applies to)."""

    metric: str
    value: float | None
    floor: float


def parse_thresholds(specs: Sequence[str]) -> dict[str, float]:
    """`METRIC=VALUE` strings as a mapping; values are fractions in [0, 1] (a percentage like 95% is accepted)."""
    thresholds: dict[str, float] = {}
    for spec in specs:
        metric, separator, text = spec.partition("=")
        metric = metric.strip()
        if not separator or not metric:
            raise GateSpecError(f"--fail-under expects METRIC=VALUE, got {spec!r}")
        thresholds[metric] = _fraction(metric, text.strip())
    return check_names(thresholds)


def check_names(thresholds: Mapping[str, Any]) -> dict[str, float]:
    """The thresholds as floats, refusing unknown metrics and values outside [0, 1]."""
    checked: dict[str, float] = {}
    for metric, value in thresholds.items():
        if metric not in GATED_METRICS:
            raise GateSpecError(f"cannot gate on {metric!r}; choose from {', '.join(GATED_METRICS)}")
        checked[metric] = value if isinstance(value, float) else _fraction(metric, str(value))
        if not 0.0 <= checked[metric] <= 1.0:
            raise GateSpecError(f"the threshold for {metric} must be between 0 and 1, got {value}")
    return checked


def check(summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Failure]:
    """Every figure below its floor; quote fidelity below 100% always fails, whatever the thresholds say."""
    floors = {"quote_fidelity": 1.0, **thresholds}
    floors["quote_fidelity"] = max(floors["quote_fidelity"], 1.0)
    failures = []
    for metric, floor in floors.items():
        value = summary.get(metric)
        if value is None or float(value) < floor - 1e-9:
            failures.append(Failure(metric, None if value is None else float(value), floor))
    return failures


def check_required(results: Sequence[Any], required: Sequence[str]) -> list[Failure]:
    """Every required question answered with all its expected facts and only exact quotes: a case, not a rate, so
    one wrong demo answer fails the gate however good the averages are."""
    by_id = {result.id: result for result in results}
    failures = []
    for question_id in required:
        result = by_id.get(question_id)
        if result is None:
            failures.append(Failure(f"required question {question_id} (not in this run)", None, 1.0))
            continue
        found = 0.0 if result.abstained else result.facts_found / max(result.facts_expected, 1)
        if found < 1.0 or result.citations_exact < result.citations:
            failures.append(Failure(f"required question {question_id}: expected facts found", found, 1.0))
    return failures


def failure_message(failures: Sequence[Failure]) -> str:
    """The lines the CLI prints when the gate fails."""
    lines = [f"evaluation gate failed: {len(failures)} figure(s) below their threshold"]
    lines += [
        f"  {f.metric}: {'n/a (nothing in this run it applies to)' if f.value is None else f'{100 * f.value:.1f}%'}"
        f" < {100 * f.floor:.1f}%"
        for f in failures
    ]
    return "\n".join(lines)


def _fraction(metric: str, text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise GateSpecError(f"the threshold for {metric} must be a number, got {text!r}") from None
    return value
