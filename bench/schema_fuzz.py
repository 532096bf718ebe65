"""API fuzzing: schemathesis with all its checks over the whole OpenAPI schema of a real `footnote serve` (real
embedding model, extractive answers, on loopback), with many more examples per operation than the test suite's
tests/service/http/test_api_schema.py. Every phase runs (examples, coverage, fuzzing, stateful), bounded by --max-time.

One exception, as in the test suite: a file upload's schema is "any bytes", but only files the loaders read are
documents, so `positive_data_acceptance` is off for POST /v1/documents (a PNG is rightly a 422); and a chat
whose user messages hold no text has no question, a rule across messages that the OpenAI-shaped schema of
POST /v1/chat/completions cannot state, so it is off there too.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path

from bench.reliability_record import write_record

# Every check is on by default; an operation's own settings apply only when --checks is not given.
CONFIG = """\
[[operations]]
include-name = "POST /v1/documents"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name = "POST /v1/chat/completions"
checks.positive_data_acceptance.enabled = false
"""


def schemathesis_command() -> str:
    """The `st` command of this environment."""
    beside = Path(sys.executable).parent / "st"
    return str(beside) if beside.exists() else (shutil.which("st") or "st")


def fuzz(url: str, *, examples: int, max_time: float, workdir: Path) -> tuple[int, dict[str, object], str]:
    """Run schemathesis against `url`; returns its exit code, the JUnit tallies and the tail of its output."""
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    junit = workdir / "junit.xml"
    command = [
        schemathesis_command(),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--max-examples",
        str(examples),
        "--max-time",
        str(int(max_time)),
        "--workers",
        "1",
        "--seed",
        "20261128",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    # Generous wall-clock cap on top of --max-time: shrinking a failure can take a while on a busy machine.
    done = subprocess.run(command, capture_output=True, text=True, timeout=max_time * 2 + 300, cwd=workdir)
    output = done.stdout + done.stderr
    return done.returncode, junit_tallies(junit), output[-6000:]


def junit_tallies(path: Path) -> dict[str, object]:
    """Test cases (one per operation and phase), failures and errors in a JUnit report."""
    if not path.exists():
        return {"testcases": 0, "failures": 0, "errors": 0, "failed": [], "report": "missing"}
    root = ElementTree.parse(path).getroot()
    cases = list(root.iter("testcase"))
    failed = [
        case.get("name", "?") for case in cases if case.find("failure") is not None or case.find("error") is not None
    ]
    return {
        "testcases": len(cases),
        "failures": sum(case.find("failure") is not None for case in cases),
        "errors": sum(case.find("error") is not None for case in cases),
        "failed": failed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the result object here")
    parser.add_argument("--examples", type=int, default=300, help="examples per operation (CI uses 25)")
    parser.add_argument("--time-budget", type=float, default=900.0, help="seconds for the whole run (--max-time)")
    parser.add_argument("--url", help="fuzz this running server instead of starting one")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="footnote-fuzz-") as tmp:
        workdir = Path(tmp)
        if args.url:
            code, tallies, output = fuzz(args.url, examples=args.examples, max_time=args.time_budget, workdir=workdir)
        else:
            from harness.server import footnote_server  # the same launcher the end-to-end tests use

            env = {
                "FOOTNOTE_ANSWER_MODE": "extractive",
                "FOOTNOTE_RATE_LIMIT_PER_MINUTE": "1000000",
                "FOOTNOTE_RATE_LIMIT_PER_ADDRESS": "1000000",
                # The schema states the hard maxima; the configured limits below them have their own tests.
                "FOOTNOTE_MAX_QUESTION_CHARS": "4000",
                "FOOTNOTE_MAX_HISTORY_TURNS": "1000",
            }
            with footnote_server(workdir / "home", env) as server:
                code, tallies, output = fuzz(
                    server.url, examples=args.examples, max_time=args.time_budget, workdir=workdir
                )
    failures = int(str(tallies["failures"])) + int(str(tallies["errors"]))
    generated = re.search(r"(\d+) generated", output)
    cases = generated.group(1) if generated else "?"
    passed = code == 0 and failures == 0 and int(str(tallies["testcases"])) > 0
    print(output, file=sys.stderr)
    write_record(
        check="API fuzzing (schemathesis)",
        figure=f"{failures} failures in {cases} generated requests over the whole schema (all checks, all phases; "
        f"up to {args.examples} examples per operation, {args.time_budget:g} s budget)",
        passed=passed,
        details={
            "exit_code": code,
            **tallies,
            "generated_requests": cases,
            "examples_per_operation": args.examples,
            "time_budget_s": args.time_budget,
            "seconds": round(time.monotonic() - started, 1),
            "output_tail": output[-3000:] if not passed else output[-800:],
        },
        path=args.json,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
