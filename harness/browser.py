"""What the widget's browser tests and bench/xss_browser.py share: Debian's Chromium under Playwright, a fake
OpenAI-compatible model on loopback (harness/fake_llm.py), a real `footnote serve` with a site key, the XSS
payloads, and the ways to watch a page for payloads that run or requests that leave the machine."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Locator, Page, Playwright

from harness.fake_llm import FakeLLM, LoopbackServer, QuietHandler
from harness.server import RunningServer, footnote_server, free_port

PAYLOADS = Path(__file__).with_name("xss_payloads.jsonl")
CHROMIUM = "/usr/bin/chromium"
# No sandbox (root in CI), no GPU, and nothing that phones home: every request a test sees is the page's own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_KEY = "widget-admin-key"
SITE_KEY = "pk_widget_test"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
CANONICAL = "why is Russia expanding its role?"
GROUNDED_DRAFT = "Russia is concerned about the security of its southern flank in Central Asia [1]."
# A payload that runs calls xssHit(id); every page the tests open defines it first and records the calls.
XSS_INIT_SCRIPT = "window.__xss = []; window.xssHit = function (id) { window.__xss.push(String(id)); };"
# The tags the widget builds; anything else in its shadow root came from data rendered as HTML.
WIDGET = "footnote-widget"
WIDGET_TAGS = {
    "DIV", "P", "BUTTON", "SECTION", "H2", "FORM", "INPUT", "LABEL", "OL", "LI", "BLOCKQUOTE", "SPAN", "A",
    "STYLE",
}  # fmt: skip


@dataclass(frozen=True)
class Payload:
    """One hostile string and the kind of attack it stands for."""

    id: str
    payload: str
    vector: str


def load_payloads() -> list[Payload]:
    """The XSS and exfiltration payloads, one JSON object per line."""
    lines = PAYLOADS.read_text(encoding="utf-8").splitlines()
    return [Payload(**json.loads(line)) for line in lines if line.strip()]


def is_loopback(url: str) -> bool:
    """Whether a request stays on this machine (data: and blob: URLs make no request at all)."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return (parts.hostname or "").lower() in LOOPBACK_HOSTS


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium; Playwright never downloads a browser of its own."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


class HostPages(LoopbackServer):
    """Other sites' article pages on a loopback origin of their own: `pages[path]` is served as HTML.

    A real server rather than an intercepted URL: Chromium only lets a page reach a loopback address (the
    Footnote server) from a page that is itself on one (Local Network Access).
    """

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        hosted = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                page = hosted.pages.get(self.path.split("?")[0])
                body = (page or "not found").encode()
                self.send_body(200 if page is not None else 404, "text/html; charset=utf-8", body)

        super().__init__(Handler)


@dataclass(frozen=True)
class WidgetServer:
    """A running `footnote serve`, the fake model behind it, and another site's pages that embed the widget."""

    server: RunningServer
    llm: FakeLLM
    hosts: HostPages

    @property
    def host_origin(self) -> str:
        return self.hosts.origin

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def widget_server(home: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[WidgetServer]:
    """`footnote serve` answering with the fake model (the embedded one is allowed per request), an admin key,
    and a site key for the server's own /demo and for the host pages' origin."""
    port = free_port()
    server_origin = f"http://127.0.0.1:{port}"
    with FakeLLM(GROUNDED_DRAFT) as llm, HostPages() as hosts:
        env = {
            "FOOTNOTE_MODEL": "openai/fake-widget-model",
            "FOOTNOTE_LLM_BASE_URL": llm.url,
            "FOOTNOTE_LLM_API_KEY": "fake",
            "FOOTNOTE_LLM_RETRIES": "0",
            "FOOTNOTE_ALLOWED_MODELS": json.dumps(["footnote/qwen2.5-coder-1.5b"]),
            # The widget's tests are about the widget: the heuristic judges, so answers take well under a second
            # (the model judge reads for seconds and has its own tests, in tests/service/answering/).
            "FOOTNOTE_JUDGE_MODEL": "heuristic",
            "FOOTNOTE_ADMIN_KEY": ADMIN_KEY,
            "FOOTNOTE_SITE_KEYS": json.dumps({SITE_KEY: [server_origin, hosts.origin]}),
            # The embedded model's one test: a short draft, and room for a machine busy with other work.
            "FOOTNOTE_MAX_TOKENS": "32",
            "FOOTNOTE_LLM_TIMEOUT_S": "300",
            # Many questions a minute from one address: the limits have their own tests.
            "FOOTNOTE_RATE_LIMIT_PER_MINUTE": "100000",
            "FOOTNOTE_RATE_LIMIT_PER_ADDRESS": "100000",
            **(extra_env or {}),
        }
        # The site key must name the server's origin before the server starts: so the port is chosen here.
        with footnote_server(home, env, port=port) as running:
            yield WidgetServer(server=running, llm=llm, hosts=hosts)


def host_page(server_url: str, *, body: str = "", style: str = "", attributes: str = "") -> str:
    """A third-party article page that embeds the widget with the site key (no CSP, unlike /demo)."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Host page</title><style>{style}</style></head><body>{body}"
        f'<script src="{server_url}/widget.js" data-footnote-key="{SITE_KEY}" {attributes} async></script>'
        "</body></html>"
    )


def sse(name: str, data: Any) -> str:
    """One Server-Sent Event as the API frames it."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def hostile_answer_stream(payloads: list[Payload]) -> str:
    """A whole /v1/ask stream whose every field a document or a model controls carries a payload (the quotes sent
    early and the final answer alike)."""
    citations = [
        {
            "marker": index,
            "document_id": f"doc-{p.id}",
            "title": p.payload,
            "date": p.payload,
            "source": p.payload,
            "passage_id": f"doc-{p.id}:0",
            "quote": p.payload,
            "start": 0,
            "end": len(p.payload),
            "support": 1.0,
        }
        for index, p in enumerate(payloads, 1)
    ]
    answer = {
        "question": "q",
        "standalone_question": "q",
        "text": " ".join(f"{p.payload} [{i}]" for i, p in enumerate(payloads, 1)),
        "sentences": [
            {"text": p.payload, "markers": [i], "origin": "quoted", "verified": True} for i, p in enumerate(payloads, 1)
        ],
        "citations": citations,
        "abstained": False,
        "mode": "extractive",
        "model": "extractive",
    }
    passages = [{"document_id": f"doc-{p.id}", "title": p.payload, "text": p.payload} for p in payloads]
    deltas = "".join(sse("delta", {"text": p.payload + "\n"}) for p in payloads)
    return (
        sse("passages", {"passages": passages})
        + sse("quotes", answer)
        + deltas
        + sse("answer", answer)
        + sse("done", {})
    )


def ask(page: Page, question: str, *, timeout_ms: float = 60_000) -> Locator:
    """Ask through the widget's form; the exchange once its answer (or error) is shown."""
    exchanges = page.locator(f"{WIDGET} .exchange")
    before = exchanges.count()
    field = page.locator(f"{WIDGET} .input")
    field.fill(question)
    field.press("Enter")
    exchange = exchanges.nth(before)
    # Quotes shown while the written answer is prepared keep the bubble busy: wait for the final answer.
    exchange.locator(".answer:not([aria-busy='true']) .answer-text, .error").first.wait_for(timeout=timeout_ms)
    return exchange


@contextmanager
def watched_page(browser: Browser, requests_seen: list[str], **context_options: Any) -> Iterator[Page]:
    """A page in a fresh context that records each payload that runs (`xss_hits`) and every URL it requests."""
    context = browser.new_context(**context_options)
    context.add_init_script(XSS_INIT_SCRIPT)
    page = context.new_page()
    page.on("request", lambda request: requests_seen.append(request.url))
    try:
        yield page
    finally:
        context.close()


def xss_hits(page: Page) -> list[str]:
    """The ids of the payloads that ran on this page, in the order they ran."""
    hits: list[str] = page.evaluate("window.__xss")
    return hits


def outside_requests(urls: Iterable[str]) -> list[str]:
    """The requests that left this machine."""
    return [url for url in urls if not is_loopback(url)]


def widget_tags(page: Page) -> set[str]:
    """The tag names of every element in the widget's shadow root."""
    tags: list[str] = page.evaluate(
        f"[...document.querySelector('{WIDGET}').shadowRoot.querySelectorAll('*')].map(e => e.tagName)"
    )
    return set(tags)


def open_host_page(page: Page, running: WidgetServer, html: str, path: str = "/article") -> None:
    """Open a page of another origin (another loopback port) that embeds the widget with the site key."""
    running.hosts.pages[path] = html
    page.goto(running.host_origin + path)
    page.locator(f"{WIDGET} .panel").wait_for(state="attached")


def answer_with_stream(page: Page, running: WidgetServer, body: str) -> None:
    """Answer every question asked from a host page with this event stream instead of the server's."""
    headers = {"Access-Control-Allow-Origin": running.host_origin}
    page.route(
        "**/v1/ask",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body, headers=headers),
    )


def open_every_chip(exchange: Locator) -> None:
    """Click every citation chip of an answer in turn, opening its popover."""
    chips = exchange.locator(".chip")
    for index in range(chips.count()):
        chips.nth(index).click()
