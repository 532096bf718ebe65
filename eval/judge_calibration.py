"""Fit the model judge's thresholds on development data, and measure it on pairs it was not fitted on.

`footnote eval calibrate-judge`: support is fitted on one half of `support_dev.jsonl` (every other line) and
its accuracy reported on the other half; answerability and the confirmation (the same question asked of the
extractive path's quotes alone) are fitted on the question sets given (the bundled dev set, and a SQuAD 2.0 tuning
sample over its own corpus when one is passed), never on a reported set.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.calibration import Threshold, balanced_threshold, best_threshold, read_jsonl
from eval.citations_command import _eval_collection
from index import DocumentLoadError
from service.answering import Answerer, AnsweringConfig, Turn, build_answerer
from service.answering.followup import standalone_question
from service.answering.judge import support_conversation, yes_no_model

DATASETS = Path(__file__).resolve().parent / "datasets"


def register_judge_calibration(actions: Any) -> None:
    """Add `footnote eval calibrate-judge`."""
    command = actions.add_parser("calibrate-judge", help="fit and test the model judge's thresholds on dev data")
    command.add_argument("--support-set", type=Path, default=DATASETS / "support_dev.jsonl")
    command.add_argument(
        "--question-set",
        type=Path,
        action="append",
        metavar="SET.jsonl[:CORPUS]",
        help="questions to fit answerability on, optionally with the corpus they ask about (repeatable; "
        "default: the bundled dev set)",
    )
    command.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    command.set_defaults(handler=_calibrate_judge)


def accuracy_at(threshold: float, scores: Sequence[float], positives: Sequence[bool]) -> float:
    """How often score >= threshold agrees with the label."""
    if not scores:
        return 0.0
    return sum((s >= threshold) == p for s, p in zip(scores, positives, strict=True)) / len(scores)


def support_scores(config: AnsweringConfig, rows: Sequence[dict[str, object]]) -> list[float]:
    """The judge's P(yes) that each evidence sentence states its claim."""
    settings = config.judge_settings()
    if settings is None:
        raise DocumentLoadError("FOOTNOTE_JUDGE_MODEL=heuristic: there is no model judge to calibrate")
    judge = yes_no_model(settings)
    return judge.yes_probabilities([support_conversation(str(r["claim"]), [str(r["evidence"])]) for r in rows])


def answerability_scores(answerer: Answerer, rows: Sequence[dict[str, object]]) -> tuple[list[float], list[float]]:
    """For each question, the judge's P(the shortlisted sentences answer it), and P(the extractive path's quotes
    alone answer it): the written path's first check, and the confirmation that decides on both paths."""
    reader = answerer.reader
    if reader is None:
        raise DocumentLoadError("no model judge is available (is the embedded model installed?)")
    shortlisted, quoted = [], []
    for row in rows:
        history = [Turn.model_validate(turn) for turn in row.get("history", []) or []]  # type: ignore[attr-defined]
        standalone = standalone_question(str(row["question"]), history)
        passages = answerer.retriever.search(standalone, k=answerer.settings.k)
        ranked = answerer.rank_evidence(standalone, passages)
        reading = reader.reading(str(row["question"]), ranked, history, standalone=standalone)
        shortlisted.append(reader.answerability(reading))
        picked = [supported.quote for supported in reader.pick(reading, count=reader.settings.quotes)]
        quoted.append(reader.confirmation(reading, picked) if picked else 0.0)
    return shortlisted, quoted


def _calibrate_judge(args: argparse.Namespace) -> int:
    config = AnsweringConfig().model_copy(update={"answer_mode": "extractive"})
    rows = read_jsonl(args.support_set)
    fit_rows, held_rows = rows[0::2], rows[1::2]
    fit_scores = support_scores(config, fit_rows)
    held_scores = support_scores(config, held_rows)
    fit_labels = [r["label"] == "supported" for r in fit_rows]
    held_labels = [r["label"] == "supported" for r in held_rows]
    support = best_threshold(fit_scores, fit_labels)
    held = accuracy_at(support.value, held_scores, held_labels)
    print(
        f"FOOTNOTE_JUDGE_SUPPORT_THRESHOLD={support.value}  (accuracy {support.accuracy} on {support.examples} pairs)"
    )
    print(f"  held-out support pairs: accuracy {held:.4f} on {len(held_rows)} pairs at that threshold")
    scores: list[float] = []
    labels: list[bool] = []
    confirmations: list[tuple[list[float], list[bool]]] = []
    for spec in args.question_set or [str(DATASETS / "bundled_dev.jsonl")]:
        path_text, _, corpus_text = str(spec).partition(":")
        corpus = Path(corpus_text) if corpus_text else config.demo_corpus
        questions = read_jsonl(Path(path_text))
        collection = _eval_collection(config, corpus)
        try:
            answerer = build_answerer(collection, config)
            found, confirmed = answerability_scores(answerer, questions)
        finally:
            collection.close()
        truth = [bool(q["answerable"]) for q in questions]
        print(f"  {path_text}: {len(questions)} questions, accuracy {accuracy_at(0.5, found, truth):.4f} at 0.5")
        print(
            "    confirmation accuracy: "
            + "  ".join(
                f"{cut:.2f}: {accuracy_at(cut, confirmed, truth):.3f}"
                for cut in (0.3, 0.36, 0.4, 0.44, 0.48, 0.52, 0.6)
            )
        )
        scores += found
        labels += truth
        confirmations.append((confirmed, truth))
    answerable: Threshold = best_threshold(scores, labels)
    print(
        f"FOOTNOTE_ANSWERABLE_THRESHOLD={answerable.value}  "
        f"(accuracy {answerable.accuracy} on {answerable.examples} questions)"
    )
    confirm = balanced_threshold(confirmations)
    print(
        f"FOOTNOTE_CONFIRM_THRESHOLD={confirm.value}  (mean accuracy {confirm.accuracy} over {len(confirmations)} "
        f"sets, each counting equally; {confirm.examples} questions)"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "support": {"threshold": support.value, "fit_accuracy": support.accuracy, "held_out": held},
                    "support_scores": {"fit": fit_scores, "held": held_scores},
                    "answerable": {"threshold": answerable.value, "accuracy": answerable.accuracy},
                    "answerable_scores": scores,
                    "answerable_labels": labels,
                    "confirm": {"threshold": confirm.value, "mean_accuracy": confirm.accuracy},
                    "confirm_scores": [confirmed for confirmed, _ in confirmations],
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return 0
