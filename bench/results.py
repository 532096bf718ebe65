"""`make bench`: every benchmark in one run, written to bench/RESULTS.md with the machine, commit and settings.

Runs, on the same texts and the same embedding model: ingest (Footnote vs the raw encoder vs LlamaIndex, per
embedding backend), search latency at 1e4 and 1e5 passages (Footnote vs raw FAISS vs LlamaIndex), retrieval
quality on SciFact test (Footnote's modes vs bm25s vs the published figures, and the int8 backend's cost),
and the embedded `ask`. The raw figures go to bench/out/results.json; `--render` rebuilds RESULTS.md from
that file without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import tables
from bench.common import PROJECT_ROOT, commit, machine

RESULTS_JSON = PROJECT_ROOT / "bench" / "out" / "results.json"
RESULTS_MD = PROJECT_ROOT / "bench" / "RESULTS.md"
PARTS = ("ingest", "search", "quality", "ask")


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def measure(parts: tuple[str, ...], *, quick: bool, save_to: Path | None = None) -> dict[str, Any]:
    """Run the chosen benchmarks in order; each part's duration and the load before it are recorded.

    With `save_to`, the figures so far are saved after each part, so a part that fails loses only itself.
    """
    results: dict[str, Any] = {
        "commit": commit(),
        "machine": machine(),
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": {},
        "durations_s": {},
    }
    for part in parts:
        results["load_average"][part] = _load_average()
        started = time.perf_counter()
        print(f"bench: {part} ...", file=sys.stderr, flush=True)
        results[part] = _run_part(part, quick=quick)
        results["durations_s"][part] = round(time.perf_counter() - started, 1)
        print(f"bench: {part} done in {results['durations_s'][part]} s", file=sys.stderr, flush=True)
        if save_to is not None:
            save_to.parent.mkdir(exist_ok=True)
            save_to.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    results["load_average"]["end"] = _load_average()
    return results


def backend_figures(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per embedding backend: its encoder speed (ingest part) and its quality figures (SciFact part)."""
    backends: dict[str, dict[str, Any]] = {}
    for name, figures in (results.get("ingest") or {}).get("backends", {}).items():
        backends.setdefault(name, {})["encoder_passages_per_s"] = figures.get("encoder_passages_per_s")
    for name, figures in (results.get("quality") or {}).get("backends", {}).items():
        backends.setdefault(name, {}).update(figures)
    if "torch" in backends:
        backends["torch"].setdefault("cosine_to_torch_mean", 1.0)
        backends["torch"].setdefault("cosine_to_torch_min", 1.0)
    return backends


def _run_part(part: str, *, quick: bool) -> dict[str, Any]:
    # BENCH_DOCUMENTS / BENCH_QUERIES shrink a run on a machine too busy for the full one (recorded in the output).
    if part == "ingest":
        from bench import ingest_throughput

        return ingest_throughput.run(documents=int(os.environ.get("BENCH_DOCUMENTS", 40 if quick else 200)))
    if part == "search":
        from bench import search_latency

        sizes = (2_000,) if quick else (10_000, 100_000)
        return search_latency.run(sizes=sizes, queries=int(os.environ.get("BENCH_QUERIES", 20 if quick else 200)))
    if part == "quality":
        from bench import scifact_quality

        return scifact_quality.run()
    from bench import ask_latency

    return ask_latency.run(repeats=2 if quick else 5, verification=False)


def render(results: dict[str, Any]) -> str:
    """The whole RESULTS.md; a part that was not measured says so instead of showing empty figures."""
    results = {**results, "backends": backend_figures(results)}
    if not results.get("quality"):
        from bench.scifact_quality import SCIFACT, published_figures

        readme = SCIFACT / "README.md"
        results["quality_reference"] = {"published": published_figures(readme) if readme.is_file() else []}
    load = results.get("load_average", {})
    # Each reading includes the benchmark's own previous part, which keeps every core busy (a load of about the
    # core count); only more than that means other jobs shared the machine.
    busy = any(values and values[0] > (os.cpu_count() or 1) + 1.0 for values in load.values())
    load_note = ", ".join(f"{part} {values[0]}" for part, values in load.items() if values)
    search_settings = (results.get("search") or {}).get("settings", {})
    ingest = results.get("ingest") or {}
    quality = results.get("quality") or {}
    ask_settings = (results.get("ask") or {}).get("settings", {})
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/results.py); every ratio compares figures measured in this same run.",
        "",
        f"- Commit: `{results.get('commit')}`, run started {results.get('started')}",
        f"- Machine: {results.get('machine')}",
        f"- Load average (1 min) before each part (it includes the benchmark's own previous part): {load_note or '?'}"
        + (
            " — the machine was **shared and busy** (other jobs on the 2 cores), so absolute figures are"
            " slower and noisier than on an idle machine; the ratios are what to read."
            if busy
            else ""
        ),
        f"- Durations: {', '.join(f'{k} {v} s' for k, v in results.get('durations_s', {}).items())}",
        "- Embedding model: all-MiniLM-L6-v2 (bundled, local) for everyone; peer: "
        + ", ".join(f"{k}=={v}" for k, v in (ingest.get("peer_versions") or {}).items()),
        "",
        "## Headline",
        "",
        tables.headline_table(results),
        "",
        "## Ingest",
        "",
        f"{ingest.get('source')}: {ingest.get('documents')} documents, {ingest.get('passages')} Footnote passages "
        f"(at most {ingest.get('chunk_max_words')} words, title prepended); LlamaIndex cut "
        f"{ingest.get('peer_passages')} with {(ingest.get('peer_settings') or {}).get('splitter')}, embed batch "
        f"{(ingest.get('peer_settings') or {}).get('embed_batch_size')} (its default), FAISS flat store. "
        "Footnote's ingest includes chunking, embedding, BM25 tokenising, SQLite and index updates; the raw "
        "encoder is one `SentenceTransformer.encode` over Footnote's passage texts. Each passage count differs "
        "by splitter, so the peer comparison is in documents/s.",
        "",
        tables.ingest_table(results),
        "",
        _peer_error(ingest),
        "## Search latency",
        "",
        f"Retrieval alone (the query embedding excluded for everyone: query vectors are given), k="
        f"{search_settings.get('k')}, {search_settings.get('candidates')} candidates per Footnote retriever, "
        f"flat (exact) indexes, FAISS on {search_settings.get('faiss_threads')} thread for all, "
        f"{search_settings.get('queries')} queries over synthetic passages ({search_settings.get('words_per_passage')}"
        f" Zipf-distributed words from {search_settings.get('vocabulary')}, random unit vectors). Query embedding"
        f" itself: p50 {(results.get('search') or {}).get('query_embedding_p50_ms')} ms.",
        "",
        tables.search_table(results),
        "",
        _peer_error(results.get("search") or {}),
        "## Retrieval quality (SciFact)",
        "",
        "" if quality else "**Not measured in this run.** Published figures for reference:\n",
        ""
        if not quality
        else f"{quality.get('dataset')} {quality.get('split')} split: {quality.get('queries')} queries, "
        f"{quality.get('documents')} documents ({quality.get('passages')} passages); documents ranked by their "
        "best passage. Footnote's rows come from eval/retrieval.py (`footnote eval retrieval`), bm25s indexes "
        "whole abstracts with the same stemmer and stop words; published figures are from the dataset's README.",
        "",
        tables.quality_table(results),
        "",
        "## Embedding backends (FOOTNOTE_EMBEDDING_BACKEND)",
        "",
        "Encoder speed on the ingest passages; cosine of each backend's vectors to torch's over every SciFact "
        "passage; nDCG@10 on SciFact test with that backend's vectors.",
        "",
        tables.backends_table(results),
        "",
        "## Ask",
        "",
        _ask_run_note(results),
        "**Not measured in this run.**"
        if not ask_settings
        else f"Bundled corpus, model {ask_settings.get('model')}, {ask_settings.get('repeats')} distinct questions, "
        f"{ask_settings.get('prompt_passages')} passages in the prompt, max {ask_settings.get('max_tokens')} "
        "tokens.",
        "",
        tables.ask_table(results),
        "",
    ]
    return "\n".join(line for line in lines if line is not None)


def _ask_run_note(results: dict[str, Any]) -> str:
    run = results.get("ask_run")
    return f"Ask part from a separate run (commit `{run['commit']}`, {run['started']}): {run['note']}.\n" if run else ""


def _peer_error(figures: dict[str, Any]) -> str:
    error = figures.get("peer_error")
    return f"Peer not measured: {error}\n" if error else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the wiring (minutes)")
    parser.add_argument("--render", action="store_true", help="rebuild RESULTS.md from bench/out/results.json")
    parser.add_argument("--output", type=Path, default=None, help="default: bench/RESULTS.md (quick: bench/out/)")
    args = parser.parse_args()
    output = args.output or (RESULTS_JSON.parent / "RESULTS-quick.md" if args.quick else RESULTS_MD)
    logging.basicConfig(level=logging.WARNING)
    if args.render:
        results = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
    else:
        target = RESULTS_JSON.with_name("results-quick.json") if args.quick else RESULTS_JSON
        results = measure(tuple(args.parts), quick=args.quick, save_to=target)
        target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    output.parent.mkdir(exist_ok=True)
    output.write_text(render(results), encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
