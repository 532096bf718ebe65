"""`footnote eval ...` subcommands, plugged into the service CLI through an entry point."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from eval.calibration import fit_relevance, fit_support, read_jsonl
from eval.citations_command import add_citations_commands
from eval.judge_calibration import register_judge_calibration
from eval.progress import Progress
from eval.retrieval import evaluate_retrieval, load_beir
from eval.squad import add_squad_command
from eval.targets import add_targets_command
from index import Collection, DocumentLoadError, Retriever
from service.answering import AnsweringConfig, build_answerer, index_demo_corpus_if_empty, open_collection

DATASETS = Path(__file__).resolve().parent / "datasets"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def register(commands: Any) -> None:
    """Add the `eval` command group to the `footnote` parser."""
    evaluation = commands.add_parser("eval", help="measure retrieval and citation quality")
    actions = evaluation.add_subparsers(title="eval commands", metavar="ACTION")
    retrieval = actions.add_parser("retrieval", help="nDCG@10, Recall@100 and MRR@10 on a BEIR-layout folder")
    retrieval.add_argument("dataset", metavar="DIR", type=_existing_dir)
    retrieval.add_argument("--split", default="test", help="which qrels/<split>.tsv to score (default: test)")
    retrieval.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default=None)
    retrieval.add_argument("--json", action="store_true", help="print the scores with their settings as JSON")
    retrieval.set_defaults(handler=_retrieval)

    add_citations_commands(actions)
    add_squad_command(actions)
    add_targets_command(actions)

    calibrate = actions.add_parser("calibrate", help="fit the support and relevance thresholds on the dev sets")
    calibrate.add_argument("--support-set", type=Path, default=DATASETS / "support_dev.jsonl")
    calibrate.add_argument("--question-set", type=Path, default=DATASETS / "bundled_dev.jsonl")
    calibrate.set_defaults(handler=_calibrate)
    register_judge_calibration(actions)


def _existing_dir(text: str) -> Any:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return path


def _eval_store(settings: AnsweringConfig, dataset_name: str) -> Any:
    # One store per dataset and indexing setup, kept between runs so the corpus is embedded once.
    setup = (
        f"{dataset_name}-{settings.embedder().name}-w{settings.chunk_max_words}-o{settings.chunk_overlap_sentences}"
        f"-t{settings.lexical_title_repeats}"
    )
    return settings.home / "eval" / _UNSAFE.sub("_", setup)


def _retrieval(args: argparse.Namespace) -> int:
    settings = AnsweringConfig()
    if args.mode is not None:
        settings = settings.model_copy(update={"retrieval_mode": args.mode})
    dataset = load_beir(args.dataset, split=args.split)
    collection = Collection(
        _eval_store(settings, dataset.name),
        embedder=settings.embedder(),
        settings=settings.collection_settings(),
    )
    try:
        with Progress(total=len(dataset.documents), unit="doc", desc="index") as bar:
            collection.ingest(dataset.documents, on_progress=bar.update)
        retriever = Retriever(collection, settings.retrieval_settings())
        with Progress(total=len(dataset.queries), unit="query", desc="search") as bar:
            scores = evaluate_retrieval(dataset, retriever, split=args.split, on_progress=bar.update)
    finally:
        collection.close()
    report = {
        "scores": dataclasses.asdict(scores),
        "retrieval": dataclasses.asdict(settings.retrieval_settings()),
        "document_ranking": "MaxP: each document ranked by its best passage",
        "index": {
            "embedding_model": settings.embedding_model,
            "embedding_backend": settings.embedding_backend,
            "chunk_max_words": settings.chunk_max_words,
            "chunk_overlap_sentences": settings.chunk_overlap_sentences,
            "bm25_k1": settings.bm25_k1,
            "bm25_b": settings.bm25_b,
            "lexical_title_repeats": settings.lexical_title_repeats,
        },
    }
    if args.json:
        _print_json(report)
        return 0
    print(f"{scores.dataset} ({scores.split}, {scores.queries} queries, mode {settings.retrieval_mode})")
    print(f"  nDCG@10    {scores.ndcg_at_10:.4f}")
    print(f"  Recall@100 {scores.recall_at_100:.4f}")
    print(f"  MRR@10     {scores.mrr_at_10:.4f}")
    print(f"  {scores.mean_query_ms:.1f} ms per query")
    return 0


def _print_json(value: object) -> None:
    # Formatted as the `footnote` CLI's --json output; eval prints plain dicts, so it needs no more than this.
    print(TypeAdapter(Any).dump_json(value, indent=2).decode())


def _calibrate(args: argparse.Namespace) -> int:
    settings = AnsweringConfig().model_copy(update={"answer_mode": "extractive"})
    for path in (args.support_set, args.question_set):
        if not path.is_file():
            raise DocumentLoadError(f"{path}: no such file")
    collection = open_collection(settings)
    try:
        index_demo_corpus_if_empty(collection, settings)
        answerer = build_answerer(collection, settings)
        support = fit_support(answerer.scorer, read_jsonl(args.support_set))
        relevance = fit_relevance(answerer, read_jsonl(args.question_set))
    finally:
        collection.close()
    for name, fitted, unit in (("SUPPORT", support, "pairs"), ("RELEVANCE", relevance, "questions")):
        print(f"FOOTNOTE_{name}_THRESHOLD={fitted.value}  (accuracy {fitted.accuracy} on {fitted.examples} {unit})")
    return 0
