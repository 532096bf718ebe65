"""Time to first token and total time of `ask` with the embedded model, the extractive path alone, and what
verification did to the model's drafts over the development questions.

Runs on the bundled corpus in a temporary store, with the settings' defaults.
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
from service.answering.pipeline import Answerer
from service.settings import Settings

DEV_SET = PROJECT_ROOT / "eval" / "datasets" / "bundled_dev.jsonl"


def time_to_first_token(answerer: Answerer, question: str) -> tuple[float, float]:
    """Seconds until the model's first streamed token (retrieval included), and until its last."""
    assert answerer.chat_model is not None
    started = time.perf_counter()
    passages = answerer.retriever.search(question, k=answerer.settings.k)
    first = None
    for _ in answerer.chat_model.stream(answerer.prompt(question, [], passages)):
        if first is None:
            first = time.perf_counter() - started
    return (first if first is not None else time.perf_counter() - started), time.perf_counter() - started


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
        generative.answer("What did Lavrov say?")  # load the model weights before timing
        first_tokens, streamed, totals, extractive_totals = [], [], [], []
        # Distinct questions: llama.cpp reuses the cached prefix of a repeated prompt, which would hide the
        # prompt-processing time from the time to first token.
        timed = [canonical, *(q.question for q in questions if q.answerable and not q.history)][:repeats]
        for question in timed:
            first, last = time_to_first_token(generative, question)
            first_tokens.append(first)
            streamed.append(last)
        for question in reversed(timed):
            started = time.perf_counter()
            generative.answer(question)
            totals.append(time.perf_counter() - started)
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
            "k": settings.answer_k,
            "prompt_passages": settings.prompt_passages,
            "max_tokens": settings.max_tokens,
            "repeats": repeats,
            "dev_questions": len(questions) if verification else 0,
        },
        "ttft_p50_ms": round(percentile_ms(first_tokens, 50)),
        "stream_total_p50_ms": round(percentile_ms(streamed, 50)),
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
    parser.add_argument("--repeats", type=int, default=5, help="distinct questions timed")
    args = parser.parse_args()
    figures = run(repeats=args.repeats)
    report("ask_latency", settings=figures.pop("settings"), figures=figures)


if __name__ == "__main__":
    main()
