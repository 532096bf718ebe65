"""bench/RESULTS.md from the figures of one `make bench` run (bench/out/results.json): pure formatting.

The tables themselves are in harness/results_tables.py; this writes the page around them.
"""

from __future__ import annotations

import os
from typing import Any

from harness import results_tables as tables
from harness.milvus_results import milvus_section
from harness.ray_results import ray_section


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


def updated(earlier: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """The earlier run's figures with the parts measured again replaced, each such part noted with its commit and
    start, so a part spoilt by other work on the machine can be redone without redoing the others."""
    results = {**earlier, "load_average": dict(earlier.get("load_average", {}))}
    results["durations_s"] = dict(earlier.get("durations_s", {}))
    results["remeasured"] = dict(earlier.get("remeasured", {}))
    for part in fresh["durations_s"]:
        results[part] = fresh[part]
        results["load_average"][part] = fresh["load_average"][part]
        results["durations_s"][part] = fresh["durations_s"][part]
        results["remeasured"][part] = f"`{fresh['commit']}`, {fresh['started']}"
    return results


def _dense_index(search_settings: dict[str, Any]) -> str:
    """How Footnote's dense candidates were found: the run's own exact-search threshold and share of cells visited
    (runs recorded before the share was show the code's at the time, a half)."""
    exact_up_to = search_settings.get("exact_search_up_to")
    if exact_up_to is None:
        return "flat (exact) indexes"
    share = float(search_settings.get("ivf_probed_share", 0.5))
    visited = "half" if share == 0.5 else f"{share:.0%}"
    return (
        f"Footnote's dense index exact (a scan) up to {exact_up_to:,} passages and above that an inverted file"
        f" visiting {visited} of its cells, its shortlist re-scored exactly (`CollectionSettings.exact_search_up_to`);"
        " the peer and raw FAISS scan every vector"
    )


def render(results: dict[str, Any]) -> str:
    """The whole RESULTS.md; a part that was not measured says so instead of showing empty figures."""
    results = {**results, "backends": backend_figures(results)}
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
        *(
            [f"- Measured again later (`--update`): {', '.join(f'{k} at {v}' for k, v in remeasured.items())}"]
            if (remeasured := results.get("remeasured"))
            else []
        ),
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
        f"{_dense_index(search_settings)}, FAISS on {search_settings.get('faiss_threads')} thread for all, "
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
        ray_section(results.get("ray")),
        milvus_section(results.get("milvus")),
        "## Ask",
        "",
        _ask_run_note(results),
        "**Not measured in this run.**"
        if not ask_settings
        else f"Bundled corpus, model {ask_settings.get('model')}, {ask_settings.get('repeats')} distinct questions "
        f"(the canonical one first), {ask_settings.get('k')} passages retrieved, "
        + (
            f"{ask_settings.get('prompt_passages')} passages in the prompt"
            if ask_settings.get("judge") in (None, "heuristic")
            else f"the shortlisted sentences read by the judge {ask_settings.get('judge')}"
        )
        + f", max {ask_settings.get('max_tokens')} tokens. The first verified sentences are the judged quotes the"
        " stream sends before the written answer when they answer, else the whole answer (a written answer's"
        " sentences are all verified before any is sent).",
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
