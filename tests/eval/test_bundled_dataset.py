"""The bundled question set: its shape, and every expected fact checked against the articles' text."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.gate import check_names
from eval.questions import CATEGORIES, EvalQuestion, load_questions, read_baseline, select_subset, subset_ids
from index import Document, DocumentLoadError

DATASETS = Path(__file__).resolve().parents[2] / "eval" / "datasets"


@pytest.fixture(scope="module")
def questions() -> list[EvalQuestion]:
    return load_questions(DATASETS / "bundled.jsonl")


def test_the_set_has_the_promised_mix(questions: list[EvalQuestion]) -> None:
    counts = Counter(q.category for q in questions)
    assert len(questions) >= 40
    assert counts["unanswerable"] >= 10
    assert sum(len(q.gold_documents) == 2 for q in questions) >= 5
    assert sum(bool(q.history) for q in questions) >= 5
    assert counts["single_fact"] and counts["why"]
    dev = load_questions(DATASETS / "bundled_dev.jsonl")
    assert not {q.question for q in questions} & {q.question for q in dev}, "the held-out set is not the dev set"


def test_every_expected_fact_is_in_a_gold_article(
    questions: list[EvalQuestion], bundled_documents: list[Document]
) -> None:
    texts = {d.id: d.text.lower() for d in bundled_documents}
    for question in questions:
        if not question.answerable:
            assert not question.gold_documents and not question.must_include, question.id
            continue
        assert question.gold_documents and question.must_include, question.id
        assert set(question.gold_documents) <= set(texts), question.id
        gold = [texts[d] for d in question.gold_documents]
        for group in question.must_include:
            # The first alternative is the article's own wording; the others are other spellings of it
            # ("3,000" / "3000", "August 5" / "5 August") that an answer may use instead.
            assert any(group[0].lower() in text for text in gold), f"{question.id}: {group[0]!r} not in its gold text"


def test_multi_document_questions_need_each_of_their_articles(
    questions: list[EvalQuestion], bundled_documents: list[Document]
) -> None:
    texts = {d.id: d.text.lower() for d in bundled_documents}
    for question in questions:
        if len(question.gold_documents) < 2:
            continue
        for document in question.gold_documents:
            # Some expected fact is in this article and not in the other: neither article answers alone.
            only_here = [
                group[0]
                for group in question.must_include
                if group[0].lower() in texts[document]
                and not any(group[0].lower() in texts[other] for other in question.gold_documents if other != document)
            ]
            assert only_here, f"{question.id}: nothing expected comes only from {document}"


def test_the_baseline_file_is_valid_and_its_gate_subset_covers_every_category(questions: list[EvalQuestion]) -> None:
    path = DATASETS / "bundled.baseline.json"
    baseline = read_baseline(path)
    subset = select_subset(questions, subset_ids(baseline, "gate", path=path), name="gate")
    assert {q.category for q in subset} == set(CATEGORIES)
    assert 10 <= len(subset) <= 14, "the gate subset must stay small: the embedded model takes seconds a question"
    for gate in baseline["gates"].values():
        assert check_names(gate["fail_under"])["quote_fidelity"] == 1.0


def test_a_bad_question_line_names_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    lines: list[dict[str, object]] = [
        {"id": "a", "question": "?", "answerable": True},
        {"id": "b", "question": "?"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    with pytest.raises(DocumentLoadError, match=r"set.jsonl:2: answerable: Field required"):
        load_questions(path)
    path.write_text(json.dumps({**lines[0], "must_include": [["x"], []]}) + "\n", encoding="utf-8")
    with pytest.raises(DocumentLoadError, match=r"set.jsonl:1: must_include: .*at least one non-blank"):
        load_questions(path)
    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[0]) + "\n", encoding="utf-8")
    with pytest.raises(DocumentLoadError, match=r"set.jsonl:2: id 'a' already used on line 1"):
        load_questions(path)
    path.write_text(json.dumps({**lines[0], "answer": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(DocumentLoadError, match=r"set.jsonl:1: answer: Extra inputs are not permitted"):
        load_questions(path)


def test_categories() -> None:
    def make(**fields: object) -> EvalQuestion:
        return EvalQuestion.model_validate({"id": "x", "question": "What?", "answerable": True, **fields})

    assert make(answerable=False, history=[{"role": "user", "content": "hi"}]).category == "unanswerable"
    assert make(history=[{"role": "user", "content": "hi"}], gold_documents=["a", "b"]).category == "follow_up"
    assert make(gold_documents=["a", "b"], question="Why?").category == "multi_document"
    assert make(question="Why is it?").category == "why"
    assert make().category == "single_fact"
