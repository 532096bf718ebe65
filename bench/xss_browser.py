"""XSS and exfiltration payloads through the chat widget in a real browser: none may run, none may load anything.

Every payload in harness/xss_payloads.jsonl is stored as a document (in its title and text) in a real
`footnote serve`, and a fake model on loopback replies with it, so one question per payload carries it through
both channels into the widget (the streamed draft, the verified answer, the citation popovers, the sources).
A last pass renders every payload in every answer field at once. The page counts calls to `xssHit(id)`, which
each payload makes if it ever runs, and the browser's network log must hold loopback requests only.

    python -m bench.xss_browser [--limit N] [--time-limit-s S] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import string
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from harness import browser
from harness.provenance import commit, machine


def codeword(index: int) -> str:
    """A made-up word per payload (letters only), so lexical search finds exactly its document."""
    letters = string.ascii_lowercase
    return "qz" + letters[index // 26 % 26] + letters[index % 26] + "vel"


def ask_and_open_every_chip(page: Page, question: str) -> None:
    """Ask through the widget, then open every citation chip of the answer."""
    browser.open_every_chip(browser.ask(page, question, timeout_ms=120_000))


def run(limit: int | None, time_limit_s: float) -> dict[str, Any]:
    payloads = browser.load_payloads()
    chosen = payloads[:limit] if limit else payloads
    started = time.monotonic()
    requests: list[str] = []
    rendered: set[str] = set()
    asked = 0
    with tempfile.TemporaryDirectory() as temp, browser.widget_server(Path(temp) / "home") as running:
        documents = [
            {
                "_id": f"xss-{p.id}",
                "title": f"Field note {codeword(i)} {p.payload}",
                "text": f"Field note {codeword(i)} records this: {p.payload}",
            }
            for i, p in enumerate(chosen)
        ]
        upload = "\n".join(json.dumps(d) for d in documents).encode()
        admin = {"Authorization": f"Bearer {browser.ADMIN_KEY}"}
        with httpx.Client(base_url=running.url, headers=admin, timeout=300) as http:
            stored = http.post("/v1/documents", files={"file": ("payloads.jsonl", upload, "application/x-ndjson")})
            stored.raise_for_status()
        with sync_playwright() as playwright:
            chromium = browser.launch_chromium(playwright)
            with browser.watched_page(chromium, requests) as page:
                opened = browser.host_page(running.url, attributes='data-footnote-open="true"')
                browser.open_host_page(page, running, opened)
                for index, payload in enumerate(chosen):
                    if time.monotonic() - started > time_limit_s:
                        break
                    running.llm.reply = f"{payload.payload}\nField note {codeword(index)} records it [1]."
                    ask_and_open_every_chip(page, f"What does field note {codeword(index)} record?")
                    asked += 1
                    shown = page.locator(f"{browser.WIDGET} .log").text_content() or ""
                    if payload.payload in shown:
                        rendered.add(payload.id)
                    page.locator(f"{browser.WIDGET} .clear").click()
                # Every payload in every field of one answer: titles, dates, sources, quotes, sentences, draft.
                browser.answer_with_stream(page, running, browser.hostile_answer_stream(chosen))
                ask_and_open_every_chip(page, "all payloads at once")
                page.wait_for_timeout(1000)
                executed = browser.xss_hits(page)
                tags = browser.widget_tags(page)
            chromium.close()
    outside = sorted(set(browser.outside_requests(requests)))
    executed_ids = sorted(set(executed))
    # Every payload always goes through the synthetic pass; the time limit only shortens the real-server pass.
    passed = not executed_ids and not outside
    figure = f"{len(executed_ids)}/{len(chosen)} payloads executed, {len(outside)} outside requests"
    if asked < len(chosen):
        figure += f" ({asked}/{len(chosen)} also asked through the server before the time limit)"
    return {
        "check": "xss in the browser widget",
        "figure": figure,
        "passed": passed,
        "details": {
            "payloads": len(chosen),
            "asked_through_real_server": asked,
            "payloads_rendered_as_text_via_real_server": len(rendered),
            "executed": executed_ids,
            "outside_requests": outside[:50],
            "elements_in_widget": sorted(tags),
            "vectors": sorted({p.vector for p in chosen}),
            "seconds": round(time.monotonic() - started, 1),
            "browser": "/usr/bin/chromium (Debian) via Playwright",
            "commit": commit(),
            "machine": machine(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N payloads")
    parser.add_argument("--time-limit-s", type=float, default=600.0, help="stop asking after this long")
    parser.add_argument("--json", type=Path, default=None, help="write the result object here")
    args = parser.parse_args()
    result = run(args.limit, args.time_limit_s)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(result["figure"])
    print(json.dumps(result["details"], indent=2))
    raise SystemExit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
