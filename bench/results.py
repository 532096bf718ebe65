"""`make bench`: every benchmark in one run, written to bench/RESULTS.md with the machine, commit and settings.

Runs, on the same texts and the same embedding model: ingest (Footnote vs the raw encoder vs LlamaIndex, per
embedding backend), search latency at 1e4 and 1e5 passages (Footnote vs raw FAISS vs LlamaIndex), retrieval
quality on SciFact test (Footnote's modes vs bm25s vs the published figures, and the int8 backend's cost),
and the embedded `ask`. The raw figures go to bench/out/results.json; `--render` rebuilds RESULTS.md from
that file without measuring anything, and `--update --parts ask` measures one part again and keeps the others.
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

from bench.common import PROJECT_ROOT
from harness import results_markdown
from harness.provenance import commit, machine
from harness.results_markdown import updated

RESULTS_JSON = PROJECT_ROOT / "bench" / "out" / "results.json"
RESULTS_MD = PROJECT_ROOT / "bench" / "RESULTS.md"
PARTS = ("ingest", "search", "quality", "ask", "ray", "milvus")


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
    if part == "milvus":
        from bench import milvus_search

        # milvus-lite loads about 750 rows/s: it runs at 1e5, the embedded index at 1e5 and 1e6.
        sizes = (10_000,) if quick else (100_000, 1_000_000)
        queries = int(os.environ.get("BENCH_QUERIES", 20 if quick else 100))
        return milvus_search.run(sizes=sizes, queries=queries, milvus_up_to=100_000)
    if part == "ray":
        from bench import ray_embedding

        return ray_embedding.run(texts=int(os.environ.get("BENCH_RAY_TEXTS", 400 if quick else 4000)))
    from bench import ask_latency

    return ask_latency.run(repeats=2 if quick else 5, verification=False)


def render(results: dict[str, Any]) -> str:
    """The whole RESULTS.md; without SciFact figures, the published ones (from the dataset's README) stand in."""
    if not results.get("quality"):
        from bench.scifact_quality import SCIFACT, published_figures

        readme = SCIFACT / "README.md"
        results = {**results, "quality_reference": {"published": published_figures(readme) if readme.is_file() else []}}
    return results_markdown.render(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the wiring (minutes)")
    parser.add_argument("--render", action="store_true", help="rebuild RESULTS.md from bench/out/results.json")
    parser.add_argument(
        "--update", action="store_true", help="measure --parts again, keeping the other parts of bench/out/results.json"
    )
    parser.add_argument("--output", type=Path, default=None, help="default: bench/RESULTS.md (quick: bench/out/)")
    args = parser.parse_args()
    output = args.output or (RESULTS_JSON.parent / "RESULTS-quick.md" if args.quick else RESULTS_MD)
    logging.basicConfig(level=logging.WARNING)
    if (args.render or args.update) and not RESULTS_JSON.is_file():
        parser.exit(2, f"{RESULTS_JSON} does not exist yet: run the whole benchmark first (make bench)\n")
    if args.render:
        results = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
    elif args.update:
        earlier = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        results = updated(earlier, measure(tuple(args.parts), quick=False))
        RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    else:
        target = RESULTS_JSON.with_name("results-quick.json") if args.quick else RESULTS_JSON
        results = measure(tuple(args.parts), quick=args.quick, save_to=target)
        target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    output.parent.mkdir(exist_ok=True)
    output.write_text(render(results), encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
