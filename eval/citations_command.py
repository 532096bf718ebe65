"""`footnote eval citations` and `footnote eval compare`: run a question set, write the reports, apply the gate."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import re
import sys
import time
from pathlib import Path
from typing import Any

from eval.gate import EXIT_GATE_FAILED, check, check_names, check_required, failure_message, parse_thresholds
from eval.judges import Judge, LlmJudge, OfflineSupportJudge, RecordingJudge
from eval.metrics import ALCE_AT_MOST_CITATIONS
from eval.progress import Progress
from eval.provenance import git_commit
from eval.questions import (
    baseline_path,
    file_sha256,
    load_questions,
    read_baseline,
    read_provenance,
    select_subset,
    subset_ids,
)
from eval.reports import format_value, print_and_save, read_run, render_comparison, write_run
from eval.runner import AnswerSource, LocalSource, run_questions, summarise
from index import Collection, DocumentLoadError, get_embedder, load_paths
from service.answering import AnsweringConfig, HeuristicSupportScorer, LiteLLMChatModel, build_answerer

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def add_citations_commands(actions: Any) -> None:
    """The `citations` and `compare` subcommands of `footnote eval`."""
    citations = actions.add_parser(
        "citations", help="answer a question set; score quotes, citations, facts, abstention, retrieval, latency"
    )
    citations.add_argument("dataset", metavar="DATASET.jsonl", type=Path, nargs="?")
    citations.add_argument("--model", default=None, help="any litellm model string (default: FOOTNOTE_MODEL)")
    citations.add_argument("--extractive", action="store_true", help="quote the sources without a language model")
    citations.add_argument("--base-url", default=None, metavar="URL", help="ask a running Footnote over HTTP instead")
    citations.add_argument("--key", default=None, help="key for --base-url (sent as Authorization: Bearer KEY)")
    citations.add_argument("-k", type=int, default=None, help="passages to retrieve (default: FOOTNOTE_ANSWER_K)")
    citations.add_argument("--corpus", type=Path, default=None, help="articles to index (default: the bundled ones)")
    citations.add_argument("--subset", default=None, help="only the questions of this subset of the baseline file")
    citations.add_argument("--gate", default=None, metavar="NAME", help="apply this gate of the baseline file")
    citations.add_argument("--baseline", type=Path, default=None, help="default: DATASET.baseline.json beside it")
    citations.add_argument(
        "--fail-under", nargs="+", default=[], metavar="METRIC=VALUE", help="exit 3 when a figure is below VALUE"
    )
    citations.add_argument("--judge", choices=["offline", "llm"], default="offline", help="who judges 'supports'")
    citations.add_argument("--judge-model", default=None, help="litellm model of the LLM judge (default: --model)")
    citations.add_argument("--out", type=Path, default=None, help="report folder (default: eval-out/<run name>)")
    citations.add_argument("--compare", nargs=2, type=Path, metavar=("RUN_A", "RUN_B"), help="compare two runs")
    citations.set_defaults(handler=_citations)

    compare = actions.add_parser("compare", help="put two runs (their --out folders) side by side")
    compare.add_argument("runs", nargs=2, type=Path, metavar="RUN")
    compare.add_argument("--out", type=Path, default=None, help="also write the comparison to this markdown file")
    compare.set_defaults(handler=_compare)

    report = actions.add_parser("report", help="redraw a run's summary, report.md and plot.png from its results")
    report.add_argument("run", type=Path, metavar="RUN")
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from eval.reports import read_results

    config = read_run(args.run)["config"]
    results = read_results(args.run)
    summary = summarise(results)
    write_run(args.run, results, summary, config)
    _print_summary(summary, args.run)
    return 0


def _compare(args: argparse.Namespace) -> int:
    first, second = args.runs
    print_and_save(render_comparison(read_run(first), read_run(second), names=(first.name, second.name)), args.out)
    return 0


def _citations(args: argparse.Namespace) -> int:
    if args.compare is not None:
        return _compare(argparse.Namespace(runs=args.compare, out=args.out))
    if args.dataset is None:
        raise DocumentLoadError("footnote eval citations needs DATASET.jsonl (or --compare RUN_A RUN_B)")
    if args.k is not None and not 1 <= args.k <= 50:
        raise DocumentLoadError("-k must be between 1 and 50")
    if args.key and not args.base_url:
        raise DocumentLoadError("--key only applies with --base-url")
    settings = AnsweringConfig()
    questions = load_questions(args.dataset)
    provenance = read_provenance(args.dataset)
    thresholds = parse_thresholds(args.fail_under)
    subset = args.subset
    gate: dict[str, Any] | None = None
    if args.subset or args.gate:
        path = args.baseline or baseline_path(args.dataset)
        baseline = read_baseline(path)
        if args.gate:
            gate = _gate_entry(baseline, args.gate, path=path)
            _apply_gate(args, gate)
            subset = args.subset
            thresholds = {**check_names(gate.get("fail_under", {})), **thresholds}
        if subset:
            questions = select_subset(questions, subset_ids(baseline, subset, path=path), name=subset)
    if args.extractive:
        settings = settings.model_copy(update={"answer_mode": "extractive"})
    if gate and gate.get("judge_model"):
        # A gate may fix the judge: the heuristic gate measures the path used when no model judge is installed.
        settings = settings.model_copy(update={"judge_model": str(gate["judge_model"])})
    if args.k is not None:
        settings = settings.model_copy(update={"answer_k": args.k})

    # Read when the run starts: a commit made while a long run goes on must not be credited with its figures.
    commit, started_at = git_commit(), datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    collection: Collection | None = None
    try:
        source, collection, described = _open_source(args, settings)
        judge = _build_judge(args, settings, collection)
        with Progress(total=len(questions), unit="question", desc="answer") as bar:
            results = run_questions(questions, source, RecordingJudge(judge), on_progress=bar.update)
    finally:
        if collection is not None:
            collection.close()
    summary = summarise(results)
    config = {
        "dataset": {
            "name": args.dataset.stem,
            "path": str(args.dataset),
            "sha256": file_sha256(args.dataset),
            "subset": subset,
            "questions": len(questions),
            # A generated set (the SQuAD samples) names its source, that source's hashes, articles and seed.
            "provenance": provenance,
        },
        "question_ids": [q.id for q in questions],
        **described,
        "judge": {
            "name": judge.name,
            "kind": judge.kind,
            "threshold": getattr(judge, "threshold", None),
            "alce_at_most_citations": ALCE_AT_MOST_CITATIONS,
        },
        "gate": {"name": args.gate, "fail_under": thresholds} if gate or thresholds else None,
        "commit": commit,
        "started_at": started_at,
        "duration_s": round(time.perf_counter() - started, 1),
    }
    out = args.out or Path("eval-out") / _UNSAFE.sub("_", _run_name(args, subset, described))
    write_run(out, results, summary, config)
    _print_summary(summary, out)
    failures = check(summary, thresholds) + check_required(results, gate.get("required_questions", []) if gate else [])
    if failures:
        print(failure_message(failures), file=sys.stderr)
        return EXIT_GATE_FAILED
    if thresholds:
        print(f"evaluation gate passed ({len(thresholds) + ('quote_fidelity' not in thresholds)} thresholds)")
    return 0


def _gate_entry(baseline: dict[str, Any], name: str, *, path: Path) -> dict[str, Any]:
    gates = baseline.get("gates", {})
    if not isinstance(gates, dict) or not isinstance(gates.get(name), dict):
        known = ", ".join(sorted(gates)) if isinstance(gates, dict) else ""
        raise DocumentLoadError(f"{path}: no gate named {name!r} (known: {known or 'none'})")
    entry: dict[str, Any] = gates[name]
    return entry


def _apply_gate(args: argparse.Namespace, gate: dict[str, Any]) -> None:
    """A gate fixes its subset and answer mode; flags that contradict it are an error, not a silent override."""
    wanted_subset = gate.get("subset")
    if args.subset and wanted_subset and args.subset != wanted_subset:
        raise DocumentLoadError(f"--gate {args.gate} runs subset {wanted_subset!r}, not {args.subset!r}")
    args.subset = args.subset or wanted_subset
    extractive = gate.get("answer_mode") == "extractive"
    if args.extractive and not extractive:
        raise DocumentLoadError(f"--gate {args.gate} measures generated answers; drop --extractive")
    args.extractive = args.extractive or extractive


def _open_source(
    args: argparse.Namespace, settings: AnsweringConfig
) -> tuple[AnswerSource, Collection | None, dict[str, Any]]:
    if args.base_url:
        from eval.remote import RemoteSource

        remote = RemoteSource(args.base_url, key=args.key, k=args.k)
        ready = remote.ready()
        described = {
            "source": f"remote {remote.base_url}",
            "model": str(ready.get("model", "unknown")),
            "answer_mode": str(ready.get("answer_mode", "unknown")),
            "k": args.k or "server default",
        }
        return remote, None, described
    collection = _eval_collection(settings, args.corpus or settings.demo_corpus)
    try:
        answerer = build_answerer(collection, settings, model=args.model)
    except BaseException:
        collection.close()
        raise
    answering = answerer.settings
    described = {
        "source": "in-process",
        "model": answerer.chat_model.name if answering.mode == "generate" and answerer.chat_model else "extractive",
        "answer_mode": answering.mode,
        "k": answering.k,
        "answering": dataclasses.asdict(answering),
        "judge_model": answerer.reader.name if answerer.reader is not None else "heuristic",
        "reader": dataclasses.asdict(answerer.reader.settings) if answerer.reader is not None else None,
        "retrieval": dataclasses.asdict(settings.retrieval_settings()),
        "embedding_model": settings.embedding_model,
        "chunking": {"max_words": settings.chunk_max_words, "overlap_sentences": settings.chunk_overlap_sentences},
        "corpus": str(args.corpus or settings.demo_corpus),
    }
    return LocalSource(answerer, collection), collection, described


def _eval_collection(settings: AnsweringConfig, corpus: Path) -> Collection:
    """A store holding exactly the corpus (not the user's own store), kept between runs so it is embedded once."""
    if not corpus.exists():
        raise DocumentLoadError(f"{corpus}: no such file or folder")
    # Named after the corpus's full path, not its folder name alone: the bundled articles and the SQuAD articles
    # both live in a folder called `corpus`, and sharing one store would re-embed each on every switch.
    where = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:8]
    setup = (
        f"citations-{corpus.resolve().name}-{where}-{settings.embedding_model}-w{settings.chunk_max_words}"
        f"-o{settings.chunk_overlap_sentences}-t{settings.lexical_title_repeats}"
    )
    collection = Collection(
        settings.home / "eval" / _UNSAFE.sub("_", setup),
        embedder=get_embedder(settings.embedding_model),
        settings=settings.collection_settings(),
    )
    try:
        documents = load_paths([str(corpus)])
        collection.ingest(documents)
        wanted = {d.id for d in documents}
        for stale in [s.id for s in collection.list_documents(offset=0, limit=10_000) if s.id not in wanted]:
            collection.delete(stale)
    except BaseException:
        collection.close()
        raise
    return collection


def _build_judge(args: argparse.Namespace, settings: AnsweringConfig, collection: Collection | None) -> Judge:
    if args.judge == "llm":
        llm = dataclasses.replace(settings.llm_settings(model=args.judge_model or args.model), max_tokens=8)
        return LlmJudge(LiteLLMChatModel(llm))
    embedder = collection.embedder if collection is not None else get_embedder(settings.embedding_model)
    return OfflineSupportJudge(HeuristicSupportScorer(embedder), threshold=settings.support_threshold)


def _run_name(args: argparse.Namespace, subset: str | None, described: dict[str, Any]) -> str:
    label = "remote" if args.base_url else str(described["model"]).rsplit("/", 1)[-1]
    return "-".join(part for part in (args.dataset.stem, subset, label, args.judge) if part)


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    from eval.reports import METRICS

    for key, label, unit in METRICS:
        print(f"  {label:58} {format_value(summary.get(key), unit)}")
    print(f"  {'unanswerable questions answered anyway (count)':58} {summary['answered_unanswerable']}")
    print(f"  {'answerable questions refused (count)':58} {summary['refused_answerable']}")
    print(f"  {'questions that failed (model or server error, count)':58} {summary['failed']}")
    print(f"reports in {out}/ (results.jsonl, summary.json, report.md, plot.png)")
