"""Retrieval quality on a BEIR-layout dataset: nDCG@10, Recall@100 and MRR@10 over document rankings."""

from __future__ import annotations

import csv
import json
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from index import Document, DocumentLoadError, Retriever, load_path

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR folder: corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""

    root: Path
    name: str
    documents: list[Document]
    queries: dict[str, str]
    qrels: Qrels


@dataclass(frozen=True)
class RetrievalScores:
    """Mean metrics over the judged queries of one split, with timing."""

    dataset: str
    split: str
    queries: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    mean_query_ms: float


def load_beir(root: Path, *, split: str) -> BeirDataset:
    """Read a BEIR dataset; queries without judgements in `split` are dropped."""
    corpus = root / "corpus.jsonl"
    queries_path = root / "queries.jsonl"
    qrels_path = root / "qrels" / f"{split}.tsv"
    for required in (corpus, queries_path, qrels_path):
        if not required.is_file():
            raise DocumentLoadError(f"{required}: missing; a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/")
    qrels = read_qrels(qrels_path)
    queries: dict[str, str] = {}
    for number, line in enumerate(queries_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            queries[str(record["_id"])] = str(record["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise DocumentLoadError(f"{queries_path}:{number}: expected an object with _id and text") from error
    judged = {qid: text for qid, text in queries.items() if qid in qrels}
    return BeirDataset(root=root, name=root.name, documents=load_path(corpus), queries=judged, qrels=qrels)


def read_qrels(path: Path) -> Qrels:
    """query id -> {document id: relevance} from a TSV with a header row."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows, None)
        for number, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) < 3:
                raise DocumentLoadError(f"{path}:{number}: expected query-id, corpus-id, score")
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def ndcg_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain with linear gains, as trec_eval and BEIR compute it."""
    gains = [relevant.get(doc, 0) for doc in ranking[:k]]
    dcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(ideal))
    return 0.0 if idcg == 0 else dcg / idcg


def recall_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """The share of relevant documents found in the top k."""
    wanted = {doc for doc, gain in relevant.items() if gain > 0}
    return 0.0 if not wanted else len(wanted.intersection(ranking[:k])) / len(wanted)


def reciprocal_rank_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """1/rank of the first relevant document in the top k, else 0."""
    for position, doc in enumerate(ranking[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / position
    return 0.0


def rank_documents(retriever: Retriever, query: str, *, depth: int) -> list[str]:
    """Document ids ranked by their best passage (MaxP), `depth` documents deep."""
    # MaxP: cap each document at one passage, so the fused passage ranking is the document ranking.
    wide = replace(
        retriever.settings, k=depth, candidates=max(retriever.settings.candidates, depth * 3), max_per_document=1
    )
    return [scored.passage.document_id for scored in retriever.search(query, settings=wide)]


def evaluate_retrieval(
    dataset: BeirDataset,
    retriever: Retriever,
    *,
    split: str,
    on_progress: Callable[[int], object] | None = None,
) -> RetrievalScores:
    """Score every judged query of the dataset against its qrels."""
    ndcg: list[float] = []
    recall: list[float] = []
    mrr: list[float] = []
    elapsed: list[float] = []
    for query_id, text in dataset.queries.items():
        started = time.perf_counter()
        ranking = rank_documents(retriever, text, depth=100)
        elapsed.append(time.perf_counter() - started)
        relevant = dataset.qrels[query_id]
        ndcg.append(ndcg_at(ranking, relevant, 10))
        recall.append(recall_at(ranking, relevant, 100))
        mrr.append(reciprocal_rank_at(ranking, relevant, 10))
        if on_progress is not None:
            on_progress(1)
    return RetrievalScores(
        dataset=dataset.name,
        split=split,
        queries=len(ndcg),
        ndcg_at_10=statistics.fmean(ndcg) if ndcg else 0.0,
        recall_at_100=statistics.fmean(recall) if recall else 0.0,
        mrr_at_10=statistics.fmean(mrr) if mrr else 0.0,
        mean_query_ms=1000 * statistics.fmean(elapsed) if elapsed else 0.0,
    )
