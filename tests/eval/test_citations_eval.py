"""Answer-quality figures on hand-made answers whose scores were worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.citations import EvalQuestion, facts_found, load_questions, score_answer, summarise
from index import Collection, Document, DocumentLoadError
from service.answer_types import Answer, Citation, Timings, VerificationStats

DATASETS = Path(__file__).resolve().parents[2] / "eval" / "datasets"


def make_answer(text: str, citations: list[Citation], *, abstained: bool = False) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        text=text,
        sentences=[],
        citations=citations,
        abstained=abstained,
        mode="abstained" if abstained else "extractive",
        model="test",
        timings=Timings(retrieval_ms=1, generation_ms=0, verification_ms=1, total_ms=10),
        verification=VerificationStats(),
    )


def cite(marker: int, document_id: str, start: int, end: int, quote: str) -> Citation:
    return Citation(
        marker=marker,
        document_id=document_id,
        title="t",
        date=None,
        source=None,
        passage_id=f"{document_id}#0",
        quote=quote,
        start=start,
        end=end,
        support=1.0,
    )


def test_facts_found_is_case_insensitive_and_needs_one_alternative_per_group() -> None:
    groups = [["Tajikistan"], ["3,000", "3000"], ["hegemony"]]
    assert facts_found("Rahmon of TAJIKISTAN warned of 3000 militants.", groups) == 2


def test_scores_by_hand(fake_collection: Collection) -> None:
    fake_collection.ingest(
        [Document(id="a", title="A", text="Russia held drills. Lavrov spoke."), Document(id="b", title="B", text="X.")]
    )
    question = EvalQuestion(
        id="q1", question="?", answerable=True, gold_documents=["a"], must_include=[["drills"], ["Lavrov"], ["Doha"]]
    )
    answer = make_answer(
        "Russia held drills [1]. Lavrov spoke [2]. X [3].",
        [cite(1, "a", 0, 19, "Russia held drills."), cite(2, "a", 20, 33, "Lavrov spoke."), cite(3, "b", 0, 2, "Y.")],
    )
    result = score_answer(question, answer, fake_collection, 10.0)
    assert (result.citations, result.citations_exact, result.citations_in_gold) == (3, 2, 2)
    assert (result.facts_found, result.facts_expected) == (2, 3)
    refused = score_answer(
        EvalQuestion(id="q2", question="?", answerable=False),
        make_answer("none", [], abstained=True),
        fake_collection,
        5.0,
    )
    wrongly_refused = score_answer(question, make_answer("none", [], abstained=True), fake_collection, 7.0)
    summary = summarise([result, refused, wrongly_refused])
    assert summary["quote_fidelity"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["citation_document_precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["fact_recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["fact_recall_all_answerable"] == pytest.approx(2 / 6, abs=1e-4)
    assert summary["decision_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["abstained_answerable"] == 1 and summary["answered_unanswerable"] == 0


def test_the_bundled_question_sets_are_valid_and_complete() -> None:
    held_out = load_questions(DATASETS / "bundled.jsonl")
    dev = load_questions(DATASETS / "bundled_dev.jsonl")
    assert len(held_out) >= 40 and sum(not q.answerable for q in held_out) >= 10
    assert sum(len(q.gold_documents) == 2 for q in held_out) >= 5
    assert sum(bool(q.history) for q in held_out) >= 5
    assert not {q.question for q in held_out} & {q.question for q in dev}, "dev and held-out sets are disjoint"


def test_a_bad_question_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"id": "a", "question": "?", "answerable": true}\n{"id": "b", "question": "?"}\n', encoding="utf-8"
    )
    with pytest.raises(DocumentLoadError, match=r"set.jsonl:2: answerable: Field required"):
        load_questions(path)


def test_best_threshold_by_hand() -> None:
    from eval.calibration import best_threshold

    fitted = best_threshold([0.1, 0.2, 0.6, 0.8, 0.3], [False, False, True, True, True])
    assert fitted.value == pytest.approx(0.25) and fitted.accuracy == pytest.approx(1.0)
    # Overlapping classes: 3 of 4 right at best; ties go to the higher cut.
    fitted = best_threshold([0.1, 0.5, 0.4, 0.9], [False, False, True, True])
    assert fitted.accuracy == pytest.approx(0.75) and fitted.value == pytest.approx(0.7)
