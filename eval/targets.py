"""`footnote eval targets`: the runs `make eval` wrote, held to the answer-quality targets, beside the figures of
the previous default, so one table says what is met, what is missed and by how much."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.reports import METRICS, format_value, print_and_save, read_run
from index import DocumentLoadError

TARGETS = Path(__file__).resolve().parent / "datasets" / "targets.json"
_LABELS = {key: (label, unit) for key, label, unit in METRICS}


@dataclass(frozen=True)
class Target:
    """One figure's bound for one question set, optionally for one answering path only."""

    dataset: str
    metric: str
    bound: float
    at_least: bool
    answer_mode: str | None = None

    def applies_to(self, run: dict[str, Any]) -> bool:
        config = run["config"]
        return bool(
            config["dataset"]["name"] == self.dataset
            and (self.answer_mode is None or config["answer_mode"] == self.answer_mode)
        )

    def verdict(self, value: float | None) -> str:
        """`met`, or how far the figure is from the bound."""
        if value is None:
            return "not measured"
        gap = value - self.bound if self.at_least else self.bound - value
        if gap >= 0:
            return "met"
        unit = _LABELS[self.metric][1]
        return f"missed by {format_value(-gap, unit).replace('%', ' pts')}"

    def describe(self) -> str:
        unit = _LABELS[self.metric][1]
        path = f" ({self.answer_mode})" if self.answer_mode else ""
        return f"{'≥' if self.at_least else '≤'} {format_value(self.bound, unit)}{path}"


def add_targets_command(actions: Any) -> None:
    """The `targets` subcommand of `footnote eval`."""
    targets = actions.add_parser("targets", help="hold eval runs to the answer-quality targets, beside the previous")
    targets.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="folders written by `eval citations`")
    targets.add_argument("--targets", type=Path, default=TARGETS, help="the targets file (default: the bundled one)")
    targets.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    targets.set_defaults(handler=_targets)


def load_targets(path: Path) -> tuple[list[Target], list[dict[str, Any]]]:
    """The targets and the previous figures in a targets file."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        targets = [
            Target(
                dataset=dataset,
                metric=entry["metric"],
                bound=float(entry["at_least"] if "at_least" in entry else entry["at_most"]),
                at_least="at_least" in entry,
                answer_mode=entry.get("answer_mode"),
            )
            for dataset, entries in spec["targets"].items()
            for entry in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DocumentLoadError(f"{path}: not a readable targets file ({error})") from error
    unknown = sorted({t.metric for t in targets} - set(_LABELS))
    if unknown:
        raise DocumentLoadError(f"{path}: unknown metrics {', '.join(unknown)}")
    return targets, list(spec.get("previous", []))


def render_targets(runs: dict[str, dict[str, Any]], targets: list[Target], previous: list[dict[str, Any]]) -> str:
    """One table per question set: target, previous figures, then each run's figure and verdict."""
    lines = ["# Targets", ""]
    for dataset in dict.fromkeys(t.dataset for t in targets):
        measured = {name: run for name, run in runs.items() if run["config"]["dataset"]["name"] == dataset}
        before = [p for p in previous if p.get("dataset") == dataset]
        lines += [f"## {dataset}", ""]
        for name, run in measured.items():
            config = run["config"]
            lines.append(
                f"- **{name}**: `{config['model']}` ({config['answer_mode']}), {run['summary']['questions']} "
                f"questions, commit `{config['commit']}`"
            )
        lines += [f"- previous: **{p['name']}**, {p['questions']}, commit `{p['commit']}`" for p in before]
        if not measured:
            lines.append("- no run of this set was given: every target below is not measured")
        header = ["figure", "target", *(f"previous: {p['name']}" for p in before), *measured]
        lines += ["", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for target in (t for t in targets if t.dataset == dataset):
            label, unit = _LABELS[target.metric]
            cells = [label, target.describe()]
            cells += [
                format_value(p["figures"].get(target.metric), unit)
                if target.answer_mode in (None, p.get("answer_mode"))
                else "-"
                for p in before
            ]
            for run in measured.values():
                if not target.applies_to(run):
                    cells.append("-")
                    continue
                value = run["summary"].get(target.metric)
                cells.append(f"{format_value(value, unit)} ({target.verdict(value)})")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _targets(args: argparse.Namespace) -> int:
    targets, previous = load_targets(args.targets)
    runs = {path.name: read_run(path) for path in args.runs}
    print_and_save(render_targets(runs, targets, previous), args.out)
    return 0
