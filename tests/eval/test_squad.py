"""The SQuAD 2.0 sampler: fixed seed, split by article, balanced; its command, its provenance and its errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import eval.citations_command as command
from eval.metrics import answer_in_quotes
from eval.questions import EvalQuestion, load_questions, read_provenance
from eval.runner import Asked
from eval.squad import REPORT_ARTICLES, TUNE_ARTICLES, load_squad, sample_questions
from index import DocumentLoadError, load_paths
from service.answering.answer_models import Citation
from service.cli import main
from tests.conftest import SHARED
from tests.eval.test_citations_eval import judge, make_answer

SQUAD = SHARED / "datasets" / "squad2-dev"
ARTICLES = ("alpha", "beta", "gamma")


def fake_squad(folder: Path, *, per_article: int = 12) -> Path:
    """Three articles, each with `per_article` answerable and as many unanswerable questions, in SQuAD's layout."""
    (folder / "corpus").mkdir(parents=True)
    lines: list[dict[str, object]] = []
    for article in ARTICLES:
        (folder / "corpus" / f"{article}.md").write_text(
            f"---\nid: {article}\ntitle: {article.title()}\n---\n\nThe {article} article.\n", encoding="utf-8"
        )
        for n in range(per_article):
            answers = [f"The {article} {n}", f"{article} {n}", f"{article} {n}"]  # SQuAD repeats answers
            common = {"document_id": article, "plausible_answers": []}
            lines.append({"id": f"{article}-a{n}", "question": "Q?", "answerable": True, "answers": answers, **common})
            lines.append({"id": f"{article}-u{n}", "question": "U?", "answerable": False, "answers": [], **common})
    (folder / "questions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return folder


def test_a_fixed_seed_gives_the_same_balanced_sample(tmp_path: Path) -> None:
    source = load_squad(fake_squad(tmp_path / "squad"))
    first = sample_questions(source.questions, articles=ARTICLES[:2], per_class=5, seed=0)
    assert first == sample_questions(source.questions, articles=ARTICLES[:2], per_class=5, seed=0)
    # The file's line order does not change the choice, only the order it is written in.
    shuffled = sample_questions(source.questions[::-1], articles=ARTICLES[:2], per_class=5, seed=0)
    assert {q.id for q in shuffled} == {q.id for q in first}
    assert {q.id for q in sample_questions(source.questions, articles=ARTICLES[:2], per_class=5, seed=1)} != {
        q.id for q in first
    }
    # Balanced: 5 answerable and 5 unanswerable; each class split over the articles 3 + 2 (remainder first).
    counts = Counter((q.answerable, q.id.split("-")[0]) for q in first)
    assert counts == {(True, "alpha"): 3, (True, "beta"): 2, (False, "alpha"): 3, (False, "beta"): 2}
    # A larger sample keeps the smaller one.
    larger = sample_questions(source.questions, articles=ARTICLES[:2], per_class=8, seed=0)
    assert {q.id for q in first} < {q.id for q in larger}


def test_questions_become_eval_questions(tmp_path: Path) -> None:
    source = load_squad(fake_squad(tmp_path / "squad"))
    sample = sample_questions(source.questions, articles=["gamma"], per_class=2, seed=0)
    answerable = next(q for q in sample if q.answerable)
    n = answerable.id.removeprefix("gamma-a")
    # One group whose alternatives are the gold answers, repeats dropped; the article is the gold document.
    assert answerable.gold_documents == ["gamma"] and answerable.must_include == [[f"The gamma {n}", f"gamma {n}"]]
    refused = next(q for q in sample if not q.answerable)
    assert (refused.gold_documents, refused.must_include, refused.category) == ([], [], "unanswerable")


def test_the_splits_never_share_an_article() -> None:
    assert not set(TUNE_ARTICLES) & set(REPORT_ARTICLES) and len(TUNE_ARTICLES) == len(REPORT_ARTICLES) == 4


@pytest.mark.parametrize(
    ("articles", "per_class", "message"),
    [
        (["alpha", "nowhere"], 2, "no questions on nowhere"),
        (["alpha", "alpha"], 2, "each article once"),
        (["alpha"], 13, "alpha has 12 answerable questions; the sample needs 13"),
        (["alpha"], 0, "at least one question"),
    ],
)
def test_impossible_samples_are_refused(tmp_path: Path, articles: list[str], per_class: int, message: str) -> None:
    source = load_squad(fake_squad(tmp_path / "squad"))
    with pytest.raises(DocumentLoadError, match=message):
        sample_questions(source.questions, articles=articles, per_class=per_class, seed=0)


def test_the_command_writes_the_set_and_its_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    folder = fake_squad(tmp_path / "squad")
    out = tmp_path / "out" / "sample.jsonl"
    argv = ["eval", "squad-sample", str(folder), "--articles", "alpha,gamma", "--per-class", "4", "--out", str(out)]
    assert main([*argv, "--seed", "7"]) == 0
    assert "8 questions (4 answerable, 4 unanswerable) from alpha, gamma, seed 7" in capsys.readouterr().out
    questions = load_questions(out)
    assert {q.notes for q in questions} == {"SQuAD 2.0 dev, article alpha", "SQuAD 2.0 dev, article gamma"}
    provenance = read_provenance(out)
    assert provenance is not None
    assert (provenance["articles"], provenance["seed"], provenance["per_class"]) == (["alpha", "gamma"], 7, 4)
    assert provenance["source"]["questions_sha256"] == load_squad(folder).questions_sha256
    assert set(provenance["source"]["corpus_sha256"]) == set(ARTICLES)
    # Edited after sampling: its provenance no longer describes it, and a run on it is refused.
    out.write_text(out.read_text(encoding="utf-8").replace("Q?", "Edited?"), encoding="utf-8")
    with pytest.raises(DocumentLoadError, match="does not describe"):
        read_provenance(out)


class GoldQuoter:
    """Answers each answerable question with a sentence quoting its first gold answer; refuses the others."""

    k = 3

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def ask(self, question: EvalQuestion) -> Asked:
        if not question.answerable:
            return Asked(make_answer([], [], abstained=True), [], 1.0)
        quote = question.must_include[0][0]
        document = question.gold_documents[0]
        self.texts[document] = quote
        citation = Citation(
            marker=1, document_id=document, title="t", date=None, source=None, passage_id=f"{document}#0",
            quote=quote, start=0, end=len(quote), support=1.0,
        )  # fmt: skip
        return Asked(make_answer([(quote, [1])], [citation]), [document], 1.0)

    def document_text(self, document_id: str) -> str | None:
        return self.texts.get(document_id)


def test_a_run_on_a_sample_records_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    folder, out = fake_squad(tmp_path / "squad"), tmp_path / "sample.jsonl"
    assert main(["eval", "squad-sample", str(folder), "--articles", "beta", "--per-class", "1", "--out", str(out)]) == 0
    described = {"source": "fake", "model": "fake-llm", "answer_mode": "generate", "k": 3}
    monkeypatch.setattr(command, "_open_source", lambda args, settings: (GoldQuoter(), None, described))
    monkeypatch.setattr(command, "_build_judge", lambda args, settings, collection: judge().judge)
    assert main(["eval", "citations", str(out), "--out", str(tmp_path / "run")]) == 0
    config = json.loads((tmp_path / "run" / "summary.json").read_text())["config"]
    assert config["dataset"]["provenance"]["articles"] == ["beta"] and config["dataset"]["provenance"]["seed"] == 0
    assert config["dataset"]["provenance"]["source"]["path"] == str(folder)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "sampled by `footnote eval squad-sample`" in report
    assert "| gold answer in the cited quotes (answered answerable) | 100.0% |" in report


@pytest.mark.parametrize(
    ("empty_folder", "message"),
    [(False, "no such folder; expected the SQuAD 2.0 dev half"), (True, "questions.jsonl: missing")],
)
def test_a_missing_dataset_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], home: Path, empty_folder: bool, message: str
) -> None:
    folder = tmp_path / "squad2-dev"
    if empty_folder:
        folder.mkdir()
    assert main(["eval", "squad-sample", str(folder), "--split", "report"]) == 1
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


@pytest.mark.skipif(not SQUAD.is_dir(), reason=f"the SQuAD 2.0 dev half is not at {SQUAD}")
def test_the_real_report_and_tune_samples() -> None:
    source = load_squad(SQUAD)
    assert len(source.questions) == 2828 and set(source.corpus_sha256) == {*TUNE_ARTICLES, *REPORT_ARTICLES}
    report = sample_questions(source.questions, articles=REPORT_ARTICLES, per_class=100, seed=0)
    tune = sample_questions(source.questions, articles=TUNE_ARTICLES, per_class=60, seed=0)
    assert Counter(q.answerable for q in report) == {True: 100, False: 100}
    assert Counter(q.answerable for q in tune) == {True: 60, False: 60}
    notes = Counter(q.notes for q in report)
    assert set(notes) == {f"SQuAD 2.0 dev, article {a}" for a in REPORT_ARTICLES} and set(notes.values()) == {50}
    # Every gold answer is in its article's text as SQuAD compares them: the metric can be met.
    texts = {d.id: d.text for d in load_paths([str(SQUAD / "corpus")])}
    for question in report + tune:
        if question.answerable:
            assert answer_in_quotes([texts[question.gold_documents[0]]], question.must_include), question.id
