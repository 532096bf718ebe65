"""Time to the model's first draft token, to the first verified sentence and to the whole answer of `ask` with the
embedded defaults (model and judge), the extractive path with the judge, and what verification did to the drafts.

Runs on the bundled corpus in a temporary store, with the settings' defaults, over distinct questions of the
bundled set (answerable, no history), the canonical question first.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, percentile_ms, report
from eval.questions import load_questions
from service.answering import build_answerer, index_demo_corpus_if_empty, open_collection
from service.answering.pipeline import Answerer, DraftDelta, FinalAnswer, QuotedAnswer
from service.settings import Settings

DEV_SET = PROJECT_ROOT / "eval" / "datasets" / "bundled_dev.jsonl"
TIMED_SET = PROJECT_ROOT / "eval" / "datasets" / "bundled.jsonl"


def streamed_answer(answerer: Answerer, question: str) -> tuple[float, float | None, float]:
    """Seconds until the first streamed draft token (retrieval included), until the first verified sentences
    arrived (the quotes sent early, else the final answer; none for a refusal), and until the final answer."""
    started = time.perf_counter()
    first = verified = None
    answer = None
    for event in answerer.answer_events(question, stream=True):
        now = time.perf_counter() - started
        if isinstance(event, DraftDelta) and first is None:
            first = now
        if isinstance(event, QuotedAnswer) and verified is None:
            verified = now
        if isinstance(event, FinalAnswer):
            answer = event.answer
    total = time.perf_counter() - started
    assert answer is not None
    if verified is None and not answer.abstained:
        verified = total
    return (first if first is not None else total), verified, total


def run(*, repeats: int = 5, verification: bool = True) -> dict[str, Any]:
    """Every ask figure as one record, with the settings that produced it under "settings"."""
    questions = load_questions(DEV_SET)
    with tempfile.TemporaryDirectory() as home:
        # A generous model time-out: on a busy machine the embedded model can take over the default minute, and a
        # benchmark should time that, not fail on it.
        settings = Settings(home=Path(home), llm_timeout_s=600)
        collection = open_collection(settings)
        index_demo_corpus_if_empty(collection, settings)
        generative = build_answerer(collection, settings)
        extractive = build_answerer(collection, settings.model_copy(update={"answer_mode": "extractive"}))
        canonical = "why is Russia expanding its role?"
        generative.answer("What did Lavrov say?")  # load the model weights and the fixed prompt start before timing
        first_tokens, verified, totals, extractive_totals = [], [], [], []
        # Distinct questions: llama.cpp reuses the cached prefix of a repeated prompt, which would hide the
        # prompt-processing time.
        bundled = load_questions(TIMED_SET)
        timed = [
            canonical,
            *(q.question for q in bundled if q.answerable and not q.history and q.question != canonical),
        ]
        timed = timed[:repeats]
        for question in timed:
            first, first_verified, total = streamed_answer(generative, question)
            first_tokens.append(first)
            totals.append(total)
            if first_verified is not None:
                verified.append(first_verified)
        for question in reversed(timed):
            started = time.perf_counter()
            extractive.answer(question)
            extractive_totals.append(time.perf_counter() - started)
        drafts = kept = recited = dropped = 0
        for dev_question in questions if verification else []:
            answer = generative.answer(dev_question.question, history=dev_question.history)
            drafts += answer.verification.draft_sentences
            kept += answer.verification.kept
            recited += answer.verification.recited
            dropped += answer.verification.dropped
        collection.close()
    return {
        "settings": {
            "model": settings.model,
            "judge": settings.judge_model,
            "k": settings.answer_k,
            "prompt_passages": settings.prompt_passages,
            "max_tokens": settings.max_tokens,
            "repeats": repeats,
            "dev_questions": len(questions) if verification else 0,
        },
        "ttft_p50_ms": round(percentile_ms(first_tokens, 50)),
        "first_verified_p50_ms": round(percentile_ms(verified, 50)) if verified else None,
        "ask_total_p50_ms": round(percentile_ms(totals, 50)),
        "ask_total_p95_ms": round(percentile_ms(totals, 95)),
        "extractive_total_p50_ms": round(percentile_ms(extractive_totals, 50)),
        "draft_sentences": drafts,
        "kept_share": round(kept / drafts, 3) if drafts else 0.0,
        "recited_share": round(recited / drafts, 3) if drafts else 0.0,
        "dropped_share": round(dropped / drafts, 3) if drafts else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=8, help="distinct questions timed")
    args = parser.parse_args()
    figures = run(repeats=args.repeats)
    report("ask_latency", settings=figures.pop("settings"), figures=figures)


if __name__ == "__main__":
    main()
