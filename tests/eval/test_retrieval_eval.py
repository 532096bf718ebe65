"""Retrieval metrics worked out by hand, and `footnote eval retrieval` on a tiny BEIR folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval.retrieval import evaluate_retrieval, load_beir, ndcg_at, recall_at, reciprocal_rank_at
from index import Collection, DocumentLoadError, RetrievalSettings, Retriever
from tests.fakes import FakeEmbedder


def test_ndcg_by_hand() -> None:
    relevant = {"a": 1, "b": 1}
    # Relevant at ranks 2 and 3: DCG = 1/log2(3) + 1/log2(4); ideal = 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / 2) / (1 + 1 / math.log2(3))
    assert ndcg_at(["x", "a", "b"], relevant, 10) == pytest.approx(expected)
    assert ndcg_at(["a", "b", "x"], relevant, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], relevant, 10) == 0.0
    assert ndcg_at(["x", "a"], relevant, 1) == 0.0


def test_recall_and_reciprocal_rank_by_hand() -> None:
    relevant = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["a", "x", "c"], relevant, 100) == pytest.approx(0.5)
    assert recall_at(["a", "b"], relevant, 1) == pytest.approx(0.5)
    assert reciprocal_rank_at(["x", "y", "b"], relevant, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank_at(["x", "c"], relevant, 10) == 0.0


def write_beir(root: Path) -> Path:
    root.mkdir()
    corpus = [
        {"_id": "d1", "title": "Drills", "text": "Russia held military drills in Tajikistan and Uzbekistan."},
        {"_id": "d2", "title": "Troika", "text": "The extended troika met in Doha with Pakistan and China."},
        {"_id": "d3", "title": "Minerals", "text": "China hopes to mine Afghanistan's untapped mineral wealth."},
    ]
    queries = [
        {"_id": "q1", "text": "military drills Tajikistan"},
        {"_id": "q2", "text": "troika Doha meeting"},
        {"_id": "q3", "text": "mineral wealth mining"},
    ]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in queries), encoding="utf-8")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n", encoding="utf-8")
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq3\td3\t1\n", encoding="utf-8")
    return root


def test_evaluate_a_tiny_dataset(tmp_path: Path) -> None:
    dataset = load_beir(write_beir(tmp_path / "tiny"), split="test")
    assert sorted(dataset.queries) == ["q1", "q2"]
    collection = Collection(tmp_path / "store", embedder=FakeEmbedder())
    collection.ingest(dataset.documents)
    scores = evaluate_retrieval(dataset, Retriever(collection, RetrievalSettings()), split="test")
    assert scores.queries == 2
    assert scores.ndcg_at_10 == pytest.approx(1.0)
    assert scores.recall_at_100 == pytest.approx(1.0)
    assert scores.mrr_at_10 == pytest.approx(1.0)
    collection.close()


def test_missing_qrels_split_is_a_clear_error(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "tiny")
    with pytest.raises(DocumentLoadError, match="dev.tsv: missing"):
        load_beir(root, split="dev")


@pytest.mark.slow
def test_eval_retrieval_command(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    root = write_beir(tmp_path / "tiny")
    assert main(["eval", "retrieval", str(root), "--split", "train", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scores"]["queries"] == 1
    assert report["scores"]["ndcg_at_10"] == pytest.approx(1.0)
    assert report["index"]["embedding_model"] == "all-MiniLM-L6-v2"
    assert main(["eval", "retrieval", str(root), "--split", "nope"]) == 1
    assert "nope.tsv: missing" in capsys.readouterr().err
