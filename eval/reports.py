"""What an evaluation run leaves behind: results.jsonl, summary.json, report.md and plot.png, and comparisons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.runner import QuestionResult
from index import DocumentLoadError

# The figures the tables show, in order, with how to print them.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("completion_rate", "questions answered without an error", "pct"),
    ("quote_fidelity", "quote fidelity (quotes verbatim at their offsets)", "pct"),
    ("citation_recall", "citation recall (sentences supported by their citations)", "pct"),
    ("citation_precision", "citation precision (citations that support or are needed)", "pct"),
    ("citation_document_precision", "citations pointing into a gold document", "pct"),
    ("fact_recall", "expected facts in answered answerable questions", "pct"),
    ("answer_in_quotes", "gold answer in the cited quotes (answered answerable)", "pct"),
    ("fact_recall_all_answerable", "expected facts over all answerable questions", "pct"),
    ("decision_accuracy", "right decision to answer or refuse", "pct"),
    ("abstention_precision", "abstention precision", "pct"),
    ("abstention_recall", "abstention recall", "pct"),
    ("abstention_f1", "abstention F1", "pct"),
    ("wrong_refusal_rate", "wrong-refusal rate (answerable questions refused)", "pct"),
    ("retrieval_recall_at_k", "retrieval: gold-document recall@k", "pct"),
    ("latency_p50_ms", "latency p50", "ms"),
    ("latency_p95_ms", "latency p95", "ms"),
    ("first_sentence_p50_ms", "first verified sentence p50 (answered questions)", "ms"),
)


def judge_note(judge: dict[str, Any]) -> str:
    """The sentence every report carries about who judged "supports"."""
    if judge.get("kind") == "llm":
        return (
            f"Citation recall and precision follow ALCE (Gao et al., 2023) with the LLM judge `{judge['name']}` "
            "in place of ALCE's TRUE NLI model."
        )
    return (
        f"Citation recall and precision use ALCE's procedure but are judged offline by `{judge['name']}`, the "
        "support scorer Footnote itself verifies answers with: they measure agreement with Footnote's own "
        "verifier and are not ALCE scores."
    )


def result_record(result: QuestionResult) -> dict[str, Any]:
    """One results.jsonl line: the scores, the judge's verdicts and the whole answer."""
    record = {k: v for k, v in result.__dict__.items() if k != "answer"}
    record["answer"] = json.loads(result.answer.model_dump_json()) if result.answer is not None else None
    return record


def write_run(out: Path, results: Sequence[QuestionResult], summary: dict[str, Any], config: dict[str, Any]) -> None:
    """Write every file of one run into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(result_record(result), ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(
        json.dumps({"summary": summary, "config": config}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    plot_run(out / "plot.png", results, config)
    (out / "report.md").write_text(render_report(summary, config), encoding="utf-8")


def render_report(summary: dict[str, Any], config: dict[str, Any]) -> str:
    """The run as a markdown table with its configuration and the judge note."""
    lines = [
        f"# Citation evaluation: {config['dataset']['name']}",
        "",
        f"{summary['questions']} questions ({summary['answerable']} answerable), answered by "
        f"`{config['model']}` ({config['answer_mode']}, {config['source']}), judge `{config['judge']['name']}`, "
        f"commit `{config['commit']}`.",
        "",
        *_provenance_lines(config["dataset"].get("provenance")),
        judge_note(config["judge"]),
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    lines += [f"| {label} | {format_value(summary.get(key), unit)} |" for key, label, unit in METRICS]
    lines += [
        f"| unanswerable questions answered anyway (count) | {summary['answered_unanswerable']} |",
        f"| answerable questions refused (count) | {summary['refused_answerable']} |",
        f"| questions that failed (model or server error) | {summary['failed']} |",
        "",
        "## By category",
        "",
        "| category | questions | right decision | facts (answered) | answer in quotes | citation recall "
        "| citation precision |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    shares = ("decision_accuracy", "fact_recall", "answer_in_quotes", "citation_recall", "citation_precision")
    for category, figures in summary.get("by_category", {}).items():
        cells = [category, str(figures["questions"]), *(format_value(figures.get(key), "pct") for key in shares)]
        lines.append(f"| {' | '.join(cells)} |")
    lines += ["", "## Configuration", "", "```json", json.dumps(config, indent=2, ensure_ascii=False), "```", ""]
    return "\n".join(lines)


def _provenance_lines(provenance: dict[str, Any] | None) -> list[str]:
    # A generated set says where its questions came from, so the report can be traced back to the source data.
    if not provenance:
        return []
    source = provenance.get("source", {})
    return [
        f"Questions: {provenance.get('description', 'generated')}; sampled by `{provenance.get('generator')}` from "
        f"`{source.get('path')}` (questions.jsonl sha256 `{source.get('questions_sha256')}`, "
        f"licence {source.get('licence', 'unknown')}).",
        "",
    ]


def format_value(value: Any, unit: str) -> str:
    """A figure as the tables print it."""
    if value is None:
        return "n/a"
    if unit == "pct":
        return f"{100 * float(value):.1f}%"
    if unit == "ms":
        return f"{float(value):,.0f} ms"
    return str(value)


def plot_run(path: Path, results: Sequence[QuestionResult], config: dict[str, Any]) -> None:
    """Two panels: per-question citation support (and abstentions), and the distribution of support scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [2.2, 1]})
    ids = [r.id for r in results]
    positions = list(range(len(results)))
    # Refusals have no citations to judge: a short stub marks them, grey when right, orange when answerable.
    heights = [0.03 if r.abstained or r.error else (r.citation_recall or 0.0) for r in results]
    colours = [_colour(r) for r in results]
    left.bar(positions, heights, color=colours)
    facts = [
        (p, r.facts_found / r.facts_expected)
        for p, r in zip(positions, results, strict=True)
        if r.facts_expected and r.error is None
    ]
    if facts:
        left.scatter([p for p, _ in facts], [f for _, f in facts], color="black", s=10, zorder=3, label="facts found")
        left.legend(fontsize=7, loc="upper right")
    left.set_xticks(positions, ids, rotation=90, fontsize=6)
    left.set_ylim(0, 1.18)
    left.set_ylabel("sentences supported by their citations")
    left.set_title(
        "Per question: green answered (answerable), red answered (unanswerable), grey refused (right), "
        "orange refused (answerable), black failed",
        fontsize=8,
    )
    scores = [v["score"] for r in results for v in r.verdicts if v["score"] is not None]
    right.hist(scores, bins=20, range=(0, 1), color="#1565c0")
    threshold = config["judge"].get("threshold")
    if threshold is not None:
        right.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold}")
        right.legend(fontsize=8)
    right.set_ylim(bottom=0)
    right.set_xlabel("judge score for (sentence, cited passages)")
    right.set_ylabel("judgements")
    right.set_title(f"Support scores ({config['judge']['name']})", fontsize=9)
    figure.suptitle(f"{config['dataset']['name']}: {config['model']} ({config['answer_mode']})", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _colour(result: QuestionResult) -> str:
    if result.error is not None:
        return "black"
    if result.abstained:
        return "#9e9e9e" if not result.answerable else "#ef6c00"
    return "#2e7d32" if result.answerable else "#c62828"


def read_results(path: Path) -> list[QuestionResult]:
    """A run's results.jsonl back as results, to redraw its reports without answering again."""
    from service.answering import Answer

    file = path / "results.jsonl"
    if not file.is_file():
        raise DocumentLoadError(f"{path}: no results.jsonl (pass a folder written by `footnote eval citations`)")
    results = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
            answer = record.pop("answer")
            record["answer"] = Answer.model_validate(answer) if answer is not None else None
            results.append(QuestionResult(**record))
        except (ValueError, TypeError) as error:
            raise DocumentLoadError(f"{file}:{number}: not a result line of this version: {error}") from error
    return results


def read_run(path: Path) -> dict[str, Any]:
    """A run's summary.json, from the run folder or the file itself."""
    file = path / "summary.json" if path.is_dir() else path
    if not file.is_file():
        raise DocumentLoadError(f"{path}: no summary.json (pass a folder written by `footnote eval citations --out`)")
    try:
        run = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DocumentLoadError(f"{file}: not valid JSON: {error.msg}") from error
    if not isinstance(run, dict) or "summary" not in run or "config" not in run:
        raise DocumentLoadError(f"{file}: not a summary written by `footnote eval citations`")
    return run


def print_and_save(text: str, out: Path | None) -> None:
    """Print a markdown table, and also write it to `out` when one is given."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    print(text, end="")


def render_comparison(a: dict[str, Any], b: dict[str, Any], *, names: tuple[str, str]) -> str:
    """Two runs side by side, with the difference B - A, and a warning when they measured different things."""
    lines = [f"# {names[0]} vs {names[1]}", ""]
    for name, run in zip(names, (a, b), strict=True):
        config = run["config"]
        lines.append(
            f"- **{name}**: `{config['model']}` ({config['answer_mode']}), judge `{config['judge']['name']}`, "
            f"{run['summary']['questions']} questions of {config['dataset']['name']}, commit `{config['commit']}`"
        )
    if a["config"]["dataset"].get("sha256") != b["config"]["dataset"].get("sha256") or a["config"].get(
        "question_ids"
    ) != b["config"].get("question_ids"):
        lines += ["", "Warning: the runs answered different questions; differences are not like for like."]
    if a["config"]["judge"]["name"] != b["config"]["judge"]["name"]:
        lines += ["", "Warning: different judges; citation recall and precision are not comparable."]
    lines += ["", f"| figure | {names[0]} | {names[1]} | difference |", "| --- | --- | --- | --- |"]
    for key, label, unit in METRICS:
        first, second = a["summary"].get(key), b["summary"].get(key)
        difference = "n/a"
        if first is not None and second is not None:
            delta = float(second) - float(first)
            difference = f"{100 * delta:+.1f} pts" if unit == "pct" else f"{delta:+,.0f} ms"
        lines.append(f"| {label} | {format_value(first, unit)} | {format_value(second, unit)} | {difference} |")
    return "\n".join(lines) + "\n"
