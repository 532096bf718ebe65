"""The citation evaluation end to end on hand-made answers: scores, reports, comparisons and the gate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import eval.citations_command as command
import eval.runner as runner
from eval.gate import EXIT_GATE_FAILED, GateSpecError, check, check_required, parse_thresholds
from eval.judges import LlmJudge, OfflineSupportJudge, RecordingJudge
from eval.questions import EvalQuestion
from eval.runner import Asked, run_questions, score_answer, summarise
from service.answering.answer_models import Answer, AnswerSentence, Citation, Timings, VerificationStats
from service.answering.errors import LLMTimeoutError
from service.cli import main
from tests.fakes import FakeChatModel

TEXTS = {"a": "Russia held drills in Tajikistan. Lavrov spoke in Doha.", "b": "China watched closely."}


def cite(marker: int, document_id: str, start: int, end: int) -> Citation:
    quote = TEXTS[document_id][start:end]
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


def make_answer(
    sentences: list[tuple[str, list[int]]], citations: list[Citation], *, abstained: bool = False
) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        text=" ".join(f"{text} {''.join(f'[{m}]' for m in markers)}" for text, markers in sentences),
        sentences=[AnswerSentence(text=t, markers=m, origin="generated", verified=True) for t, m in sentences],
        citations=citations,
        abstained=abstained,
        mode="abstained" if abstained else "generated",
        model="test",
        timings=Timings(retrieval_ms=1, generation_ms=0, verification_ms=1, total_ms=10),
        verification=VerificationStats(),
    )


class WordScorer:
    """Support = the share of the claim's words found in the quote: transparent enough to work out by hand."""

    name = "word-share"

    def score_matrix(self, claims: Sequence[str], quotes: Sequence[str]) -> npt.NDArray[np.float32]:
        matrix = np.zeros((len(claims), len(quotes)), dtype=np.float32)
        for row, claim in enumerate(claims):
            words = set(claim.lower().rstrip(".").split())
            for column, quote in enumerate(quotes):
                held = set(quote.lower().replace(".", "").split())
                matrix[row, column] = len(words & held) / len(words)
        return matrix


class FakeSource:
    """Canned answers per question id, over TEXTS."""

    k = 3

    def __init__(self, answers: dict[str, Asked]) -> None:
        self.answers = answers

    def ask(self, question: EvalQuestion) -> Asked:
        return self.answers[question.id]

    def document_text(self, document_id: str) -> str | None:
        return TEXTS.get(document_id)


def judge() -> RecordingJudge:
    return RecordingJudge(OfflineSupportJudge(WordScorer(), threshold=0.99))


QUESTIONS = [
    EvalQuestion(
        id="q1", question="Drills?", answerable=True, gold_documents=["a"], must_include=[["drills"], ["Doha"]]
    ),
    EvalQuestion(id="q2", question="Moon?", answerable=False),
    EvalQuestion(id="q3", question="Lavrov?", answerable=True, gold_documents=["a"], must_include=[["Lavrov"]]),
]


def hand_made_answers() -> dict[str, Asked]:
    good = make_answer(
        [("Russia held drills in Tajikistan.", [1]), ("China watched closely.", [2])],
        [cite(1, "a", 0, 33), cite(2, "b", 0, 22)],
    )
    # q3: one sentence cites a quote with wrong offsets (the text there is not the quote), one has no citation.
    wrong = cite(1, "a", 34, 55).model_copy(update={"start": 30})
    broken = make_answer([("Lavrov spoke in Doha.", [1]), ("He was pleased.", [])], [wrong])
    return {
        "q1": Asked(_first_sentence_at(good, 20.0), ["a", "b", "a"], 100.0),
        "q2": Asked(make_answer([], [], abstained=True), ["b"], 50.0),
        "q3": Asked(_first_sentence_at(broken, 40.0), ["b", "b", "a"], 300.0),
    }


def _first_sentence_at(answer: Answer, ms: float) -> Answer:
    return answer.model_copy(update={"timings": answer.timings.model_copy(update={"first_sentence_ms": ms})})


def test_scores_by_hand() -> None:
    results = run_questions(QUESTIONS, FakeSource(hand_made_answers()), judge())
    q1, q2, q3 = results
    # q1: both quotes exact; 1 of 2 citations in the gold document a; "drills" found, "Doha" not: 1 of 2 facts;
    # both sentences supported by their single citation: recall 1, precision 1; gold a retrieved in top 3.
    assert (q1.citations_exact, q1.citations_in_gold, q1.facts_found) == (2, 1, 1)
    assert (q1.citation_recall, q1.citation_precision, q1.retrieval_recall) == (1.0, 1.0, 1.0)
    assert q1.verdicts[0]["markers"] == [1] and q1.verdicts[0]["supported"]
    # q2: a right refusal, with no citation figures.
    assert q2.decision_correct and q2.citation_recall is None and q2.retrieval_recall is None
    # q3: the quote is not the text at its offsets (0 of 1 exact) but still supports sentence 1 (the judge reads
    # the quote); sentence 2 is uncited: recall 1/2, precision 1/1.
    assert (q3.citations_exact, q3.citation_recall, q3.citation_precision) == (0, 0.5, 1.0)
    summary = summarise(results)
    assert summary["quote_fidelity"] == pytest.approx(2 / 3, abs=1e-4)  # 2 exact of 3 citations
    assert summary["citation_recall"] == pytest.approx(0.75)  # mean of 1.0 and 0.5 over the 2 answers
    assert summary["citation_precision"] == 1.0
    assert summary["citation_document_precision"] == pytest.approx(2 / 3, abs=1e-4)  # 1 + 1 in gold of 2 + 1
    assert summary["fact_recall"] == pytest.approx(2 / 3, abs=1e-4)  # (1 + 1) of (2 + 1)
    # The gold answer in the cited quotes: q1's quotes lack "Doha", q3's quote holds "Lavrov"; q2 was refused.
    assert (q1.answer_in_quotes, q2.answer_in_quotes, q3.answer_in_quotes) == (False, None, True)
    assert summary["answer_in_quotes"] == 0.5
    assert summary["decision_accuracy"] == 1.0 and summary["abstention_f1"] == 1.0
    assert summary["retrieval_recall_at_k"] == 1.0
    assert (summary["latency_p50_ms"], summary["latency_p95_ms"]) == (100.0, 300.0)
    assert summary["first_sentence_p50_ms"] == 20.0  # nearest-rank p50 of 20 and 40; the refusal has none
    assert set(summary["by_category"]) == {"single_fact", "unanswerable"}


class TimingOutSource(FakeSource):
    def ask(self, question: EvalQuestion) -> Asked:
        if question.id == "q3":
            raise LLMTimeoutError("the language model did not answer in time")
        return super().ask(question)


def test_a_failed_question_is_recorded_and_the_run_goes_on() -> None:
    results = run_questions(QUESTIONS, TimingOutSource(hand_made_answers()), judge())
    assert results[2].error == "the language model did not answer in time" and results[2].answer is None
    summary = summarise(results)
    # 2 of 3 questions completed; the other figures are over those two (q1's 2 citations are exact).
    assert summary["completion_rate"] == pytest.approx(2 / 3, abs=1e-4) and summary["failed"] == 1
    assert summary["quote_fidelity"] == 1.0 and summary["citation_recall"] == 1.0
    assert check(summary, {"completion_rate": 1.0})[0].metric == "completion_rate"


def test_a_marker_without_a_citation_leaves_the_sentence_uncited() -> None:
    answer = make_answer([("Russia held drills in Tajikistan.", [1, 7])], [cite(1, "a", 0, 33)])
    result = score_answer(QUESTIONS[0], Asked(answer, [], 1.0), source=FakeSource({}), judge=judge())
    assert (result.citation_recall, result.citation_precision, result.judged_citations) == (0.0, 0.0, 0)


def test_the_llm_judge_reads_yes_or_no_and_is_named() -> None:
    model = FakeChatModel(["Yes.", "no, part is missing", "maybe"], name="judge-model")
    llm = LlmJudge(model)
    assert llm.name == "llm:judge-model" and llm.kind == "llm"
    verdicts = [llm.judge("Russia held drills.", ["Russia held drills in Tajikistan."]) for _ in range(3)]
    assert [v.supported for v in verdicts] == [True, False, False]
    prompt = model.prompts[0][0]["content"]
    assert "Passage 1:\nRussia held drills in Tajikistan." in prompt and "Claim: Russia held drills." in prompt


def test_the_recording_judge_asks_once_per_pair() -> None:
    model = FakeChatModel(["yes"])
    recording = RecordingJudge(LlmJudge(model))
    assert recording.supports("s", ["p"]) and recording.supports("s", ["p"])
    assert len(model.prompts) == 1 and len(recording.take_log()) == 2 and recording.take_log() == []


def test_gate_thresholds() -> None:
    assert parse_thresholds(["citation_recall=0.8", "fact_recall=75%"]) == {"citation_recall": 0.8, "fact_recall": 0.75}
    for bad, message in (
        ("citation_recall", "METRIC=VALUE"),
        ("speed=1", "cannot gate on 'speed'"),
        ("fact_recall=high", "must be a number"),
        ("fact_recall=2", "between 0 and 1"),
    ):
        with pytest.raises(GateSpecError, match=message):
            parse_thresholds([bad])
    summary = {"quote_fidelity": 0.999, "citation_recall": 0.7, "fact_recall": 0.9}
    failures = check(summary, {"citation_recall": 0.8, "fact_recall": 0.9})
    # Quote fidelity below 100% fails with no threshold given; fact_recall equal to its floor passes.
    assert [(f.metric, f.floor) for f in failures] == [("quote_fidelity", 1.0), ("citation_recall", 0.8)]
    assert check({"quote_fidelity": 1.0}, {"quote_fidelity": 0.5}) == []
    # A gated figure that does not apply (no answered question to take facts from) fails rather than passes.
    missing = check({"quote_fidelity": 1.0, "fact_recall": None}, {"fact_recall": 0.5})
    assert [(f.metric, f.value) for f in missing] == [("fact_recall", None)]


def run_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, answers: dict[str, Asked], *extra: str
) -> tuple[int, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    dataset = tmp_path / "set.jsonl"
    dataset.write_text("\n".join(q.model_dump_json() for q in QUESTIONS) + "\n", encoding="utf-8")
    described = {"source": "fake", "model": "fake-llm", "answer_mode": "generate", "k": 3}
    monkeypatch.setattr(command, "_open_source", lambda args, settings: (FakeSource(answers), None, described))
    monkeypatch.setattr(command, "_build_judge", lambda args, settings, collection: judge().judge)
    out = tmp_path / "run"
    return main(["eval", "citations", str(dataset), "--out", str(out), *extra]), out


def test_a_broken_answerer_fails_the_gate_with_exit_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(monkeypatch, tmp_path, hand_made_answers(), "--fail-under", "citation_recall=0.9")
    assert code == EXIT_GATE_FAILED
    error = capsys.readouterr().err
    assert "evaluation gate failed: 2 figure(s)" in error
    assert "quote_fidelity: 66.7% < 100.0%" in error and "citation_recall: 75.0% < 90.0%" in error
    # The reports are written before the gate decides, so a failed run can be inspected.
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["judge"]["name"] == "offline:word-share@0.99"
    assert summary["config"]["gate"]["fail_under"] == {"citation_recall": 0.9}
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2", "q3"] and lines[2]["answer"]["sentences"][1]["markers"] == []
    report = (out / "report.md").read_text()
    assert "are not ALCE scores" in report and "| quote fidelity (quotes verbatim at their offsets) | 66.7% |" in report
    assert (out / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The reports can be redrawn from results.jsonl alone, with the same figures.
    (out / "report.md").unlink()
    assert main(["eval", "report", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text()) == summary and (out / "report.md").is_file()


def test_a_sound_answerer_passes_the_gate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path) -> None:
    answers = hand_made_answers()
    answers["q3"] = Asked(make_answer([("Lavrov spoke in Doha.", [1])], [cite(1, "a", 34, 55)]), ["a"], 20.0)
    code, _ = run_cli(monkeypatch, tmp_path, answers, "--fail-under", "citation_recall=0.9", "decision_accuracy=1")
    assert code == 0


def test_a_run_is_credited_to_the_commit_it_started_at(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path
) -> None:
    # A commit made while a long run goes on (the checkout moves under it) must not take its figures.
    moved: list[bool] = []

    def answer_then_commit(*args: Any, **kwargs: Any) -> Any:
        results = runner.run_questions(*args, **kwargs)
        moved.append(True)
        return results

    monkeypatch.setattr(command, "run_questions", answer_then_commit)
    monkeypatch.setattr(command, "git_commit", lambda: "committed-meanwhile" if moved else "started-here")
    _, out = run_cli(monkeypatch, tmp_path, hand_made_answers())
    assert json.loads((out / "summary.json").read_text())["config"]["commit"] == "started-here"


def test_compare_puts_two_runs_side_by_side(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first = run_cli(monkeypatch, tmp_path / "a", hand_made_answers())
    answers = hand_made_answers()
    answers["q3"] = Asked(make_answer([("Lavrov spoke in Doha.", [1])], [cite(1, "a", 34, 55)]), ["a"], 20.0)
    _, second = run_cli(monkeypatch, tmp_path / "b", answers)
    capsys.readouterr()
    assert main(["eval", "compare", str(first), str(second)]) == 0
    table = capsys.readouterr().out
    assert "| citation recall (sentences supported by their citations) | 75.0% | 100.0% | +25.0 pts |" in table
    assert main(["eval", "citations", "--compare", str(first), str(second)]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "compare", "nowhere", "nowhere"], "no summary.json"),
        (["eval", "citations", "missing.jsonl"], "missing.jsonl: no such file"),
        (["eval", "citations"], "needs DATASET.jsonl"),
        (["eval", "citations", "eval/datasets/bundled.jsonl", "--subset", "nope"], "no subset named 'nope'"),
        (["eval", "citations", "eval/datasets/bundled.jsonl", "--gate", "nope"], "no gate named 'nope'"),
        (["eval", "citations", "eval/datasets/bundled.jsonl", "--fail-under", "x=1"], "cannot gate on 'x'"),
        (["eval", "citations", "eval/datasets/bundled.jsonl", "--base-url", "ftp://x"], "http"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_remote_stream_parsing() -> None:
    from eval.remote import _sse_events

    raw = [b"event: passages\n", b'data: {"passages": [{"document_id": "a"}]}\n', b"\n", b"event: done\n"]
    raw += [b"data: {}\n", b"\n"]
    events: list[tuple[str, dict[str, Any]]] = list(_sse_events(raw))
    assert events == [("passages", {"passages": [{"document_id": "a"}]}), ("done", {})]


def test_a_required_question_fails_the_gate_unless_every_fact_is_found() -> None:
    def result(question_id: str, *, found: int, abstained: bool = False, exact: int = 2) -> Any:
        return type(
            "R",
            (),
            {
                "id": question_id,
                "abstained": abstained,
                "facts_found": found,
                "facts_expected": 3,
                "citations": 2,
                "citations_exact": exact,
            },
        )()

    assert check_required([result("q01", found=3)], ["q01"]) == []
    # Two of the three factors, an abstention, an inexact quote, or a missing question: each fails on its own.
    for failing in (result("q01", found=2), result("q01", found=3, abstained=True), result("q01", found=3, exact=1)):
        assert [f.floor for f in check_required([failing], ["q01"])] == [1.0]
    assert check_required([result("q02", found=3)], ["q01"])[0].value is None
