"""The chat widget in a real browser (Debian's Chromium under Playwright) against a real `footnote serve`.

One browser and two servers serve the whole module: most tests ask a server on the extractive path (fast and
deterministic); the streamed drafts, hostile model replies and the real embedded model go to a server that
generates, with a fake OpenAI-compatible model on loopback as its default.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect, sync_playwright

from harness.browser import (
    ADMIN_KEY,
    CANONICAL,
    SITE_KEY,
    WIDGET,
    WIDGET_TAGS,
    WidgetServer,
    answer_with_stream,
    ask,
    host_page,
    hostile_answer_stream,
    launch_chromium,
    load_payloads,
    open_every_chip,
    open_host_page,
    outside_requests,
    sse,
    watched_page,
    widget_server,
    widget_tags,
    xss_hits,
)
from tests.service.api_support import sse_events

pytestmark = pytest.mark.slow  # the real embedding model behind a real server

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# A host page that tries hard to hide or restyle everything, the widget's host element included.
AGGRESSIVE_CSS = """
* { all: unset; display: none !important; font-size: 2px !important; line-height: 0 !important;
    color: red !important; font-family: 'Comic Sans MS', cursive !important; }
html, body, article, article * { display: block !important; }
body { background: #fffbe6 !important; padding: 16px !important; }
footnote-widget, div, section, button, input, p { visibility: hidden !important; opacity: 0 !important;
    position: static !important; transform: scale(0.2) !important; zoom: 0.3 !important;
    filter: blur(4px) !important; width: 1px !important; height: 1px !important; overflow: hidden !important; }
"""
ARTICLE = (
    "<article><h1>Russia's expanding role in Afghan security</h1>"
    "<p>As the US military withdrawal from Afghanistan nears, Russia is playing a more assertive role.</p></article>"
)
# Records text appended to a streamed draft, even when the verified answer replaces it in the same task.
DRAFT_RECORDER = """() => {
  const root = document.querySelector('footnote-widget').shadowRoot;
  window.__draftSeen = '';
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.target.classList && record.target.classList.contains('draft')) {
        record.addedNodes.forEach((node) => { window.__draftSeen += node.textContent; });
      }
    }
  }).observe(root, { subtree: true, childList: true });
}"""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WidgetServer]:
    """Quotes only: no language model, so answers are quick and the same every time."""
    home = tmp_path_factory.mktemp("widget") / "home"
    with widget_server(home, extra_env={"FOOTNOTE_ANSWER_MODE": "extractive"}) as server:
        yield server


@pytest.fixture(scope="module")
def generating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WidgetServer]:
    """Drafts from the fake model (stream, then verification); the embedded model is allowed per request."""
    with widget_server(tmp_path_factory.mktemp("widget-generate") / "home") as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def requests_seen() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, requests_seen: list[str]) -> Iterator[Page]:
    with watched_page(browser, requests_seen, viewport={"width": 1280, "height": 860}) as opened:
        yield opened


def demo(page: Page, running: WidgetServer, query: str = f"key={SITE_KEY}") -> None:
    page.goto(f"{running.url}/demo?{query}")
    page.locator(f"{WIDGET} .panel").wait_for(state="attached")


def open_panel(page: Page) -> None:
    page.locator(f"{WIDGET} .launcher").click()
    expect(page.get_by_role("dialog", name="Ask the articles")).to_be_visible()


def focused(page: Page) -> str:
    """The class of the focused element inside the widget, or the tag name of the page's focused element."""
    found: str = page.evaluate(
        """() => { const host = document.querySelector('footnote-widget');
                   const inner = host && host.shadowRoot.activeElement;
                   return inner ? inner.className : document.activeElement.tagName; }"""
    )
    return found


def stored_documents(running: WidgetServer) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=running.url, headers=ADMIN, timeout=30) as client:
        items = client.get("/v1/documents", params={"limit": 100}).json()["items"]
        return {item["title"]: client.get(f"/v1/documents/{item['id']}").json() for item in items}


# Opens every citation in turn, as a click would, and reads what each popover shows.
CLICK_EVERY_CHIP = """exchange => [...exchange.querySelectorAll('.chip')].map((chip) => {
  chip.click();
  const box = exchange.querySelector('.popover');
  return [box.querySelector('.popover-quote').textContent, box.querySelector('.popover-date').textContent,
          box.querySelector('.popover-title').textContent];
})"""


def final_answer(body: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(next(data for name, data in sse_events(body) if name == "answer"))
    return answer


def test_widget_js_and_demo_are_served_with_cache_and_security_headers(running: WidgetServer) -> None:
    with httpx.Client(base_url=running.url, timeout=30) as client:
        script = client.get("/widget.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("application/javascript")
        assert "max-age=" in script.headers["cache-control"] and script.headers["etag"]
        assert client.get("/widget.js", headers={"If-None-Match": script.headers["etag"]}).status_code == 304

        page = client.get("/demo", params={"key": SITE_KEY, "inline": "1", "open": "1"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "img-src 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        for attribute in (
            f'data-footnote-key="{SITE_KEY}"',
            'data-footnote-target="#footnote-chat"',
            "data-footnote-open",
        ):
            assert attribute in page.text

        bad = client.get("/demo", params={"key": '"><script>alert(1)</script>'})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    # The widget builds its DOM from text nodes only; none of the HTML-parsing entry points may appear.
    source = script.text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source


def test_ask_on_the_demo_page_streams_an_answer_whose_quotes_are_verbatim(
    page: Page, running: WidgetServer, requests_seen: list[str]
) -> None:
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    demo(page, running)
    open_panel(page)
    assert focused(page) == "input"

    with page.expect_response("**/v1/ask") as response_info:
        exchange = ask(page, CANONICAL)
    answer = final_answer(response_info.value.text())
    assert not answer["abstained"] and answer["citations"]

    chips = exchange.locator(".chip")
    markers = sorted({c["marker"] for c in answer["citations"]})
    assert chips.count() >= 1
    assert exchange.locator(".sources li").count() == len(markers)
    documents = stored_documents(running)
    for index in range(chips.count()):
        chips.nth(index).click()
        popover = exchange.get_by_role("dialog")
        expect(popover).to_be_visible()
        heading = popover.locator(".popover-title").text_content() or ""
        title = heading.split("] ", 1)[1]
        quote = popover.locator(".popover-quote").text_content() or ""
        document = documents[title]
        assert quote and quote in document["text"]
        assert popover.locator(".popover-date").text_content() == (document["date"] or "Date not given")
        assert chips.nth(index).get_attribute("aria-expanded") == "true"
    announced = page.locator(f"{WIDGET} [aria-live=polite]").text_content() or ""
    assert announced.startswith("Answer: ")
    assert not [error for error in console_errors if "Content Security Policy" in error]
    assert not outside_requests(requests_seen)


def test_follow_up_sends_history_and_the_conversation_survives_reload_until_cleared(
    page: Page, running: WidgetServer
) -> None:
    demo(page, running)
    open_panel(page)
    with page.expect_response("**/v1/ask") as first:
        ask(page, CANONICAL)
    first_text = final_answer(first.value.text())["text"]

    with page.expect_request("**/v1/ask") as follow_up:
        ask(page, "and China?")
    sent = json.loads(follow_up.value.post_data or "{}")
    assert sent["question"] == "and China?" and sent["stream"] is True
    assert sent["history"] == [
        {"role": "user", "content": CANONICAL},
        {"role": "assistant", "content": first_text},
    ]

    page.reload()
    page.locator(f"{WIDGET} .panel").wait_for(state="attached")
    questions = page.locator(f"{WIDGET} .question")
    expect(questions).to_have_count(2)
    assert questions.all_text_contents() == [CANONICAL, "and China?"]
    expect(page.get_by_role("dialog", name="Ask the articles")).to_be_visible()  # it was open: it still is
    page.locator(f"{WIDGET} .chip").first.click()
    expect(page.locator(f"{WIDGET} .popover-quote")).not_to_be_empty()

    page.locator(f"{WIDGET} .clear").click()
    expect(questions).to_have_count(0)
    page.reload()
    page.locator(f"{WIDGET} .panel").wait_for(state="attached")
    expect(page.locator(f"{WIDGET} .question")).to_have_count(0)


def test_one_full_exchange_with_the_keyboard_only(page: Page, running: WidgetServer) -> None:
    demo(page, running)
    page.keyboard.press("Tab")
    assert focused(page) == "launcher"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Ask the articles")).to_be_visible()
    assert focused(page) == "input"

    page.keyboard.type(CANONICAL)
    page.keyboard.press("Enter")
    chip = page.locator(f"{WIDGET} .chip").last
    chip.wait_for(timeout=60_000)
    page.keyboard.press("Shift+Tab")  # from the input back to the last citation chip
    assert focused(page) == "chip"
    page.keyboard.press("Enter")
    assert focused(page) == "popover"
    expect(page.locator(f"{WIDGET} .popover[role=dialog]")).to_be_visible()
    page.keyboard.press("Tab")
    assert focused(page) == "popover-close"
    page.keyboard.press("Escape")  # closes the popover, back on its chip
    expect(page.locator(f"{WIDGET} .popover")).to_have_count(0)
    assert focused(page) == "chip"
    page.keyboard.press("Escape")  # closes the panel, back on the launcher
    expect(page.locator(f"{WIDGET} .panel")).to_be_hidden()
    assert focused(page) == "launcher"
    assert page.locator(f"{WIDGET} .launcher").get_attribute("aria-expanded") == "false"


def test_clear_messages_for_abstention_rate_limits_lost_connections_and_missing_keys(
    page: Page, running: WidgetServer
) -> None:
    demo(page, running, query="open=1")  # no key while the server has keys: 401
    refused = ask(page, CANONICAL)
    assert "isn't set up" in (refused.locator(".error").text_content() or "")

    demo(page, running, query=f"key={SITE_KEY}&open=1")
    abstained = ask(page, "What is the population of Kabul?")
    assert abstained.locator(".answer.abstained").count() == 1
    assert "The articles don't say" in (abstained.locator(".note").text_content() or "")

    def rate_limited(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "2"},
            content_type="application/json",
            body='{"detail": "slow down", "code": "rate_limited"}',
        )

    page.route("**/v1/ask", rate_limited)
    limited = ask(page, CANONICAL)
    message = limited.locator(".error").text_content() or ""
    assert "rate limited" in message and "2 seconds" in message
    send = page.locator(f"{WIDGET} .send")
    expect(send).to_be_disabled()
    expect(send).to_be_enabled(timeout=10_000)
    assert page.locator(f"{WIDGET} .input").input_value() == CANONICAL  # kept for the retry

    page.unroute("**/v1/ask")
    page.route("**/v1/ask", lambda route: route.abort("internetdisconnected"))
    assert "Connection lost" in (ask(page, CANONICAL).locator(".error").text_content() or "")

    page.unroute("**/v1/ask")
    cut = sse("passages", {"passages": []}) + sse("delta", {"text": "Russia is"})
    page.route("**/v1/ask", lambda route: route.fulfill(status=200, content_type="text/event-stream", body=cut))
    assert "Connection lost" in (ask(page, CANONICAL).locator(".error").text_content() or "")

    page.unroute("**/v1/ask")
    failed = sse("error", {"detail": "timed out", "code": "llm_timeout", "status": 504})
    page.route("**/v1/ask", lambda route: route.fulfill(status=200, content_type="text/event-stream", body=failed))
    assert "didn't answer in time" in (ask(page, CANONICAL).locator(".error").text_content() or "")
    expect(page.locator(f"{WIDGET} [role=alert]")).to_contain_text("didn't answer in time")


# Records the text of every answer paragraph the widget shows, the quotes that are later replaced included.
ANSWER_RECORDER = """() => {
  const root = document.querySelector('footnote-widget').shadowRoot;
  window.__answersSeen = [];
  new MutationObserver((records) => {
    for (const record of records) {
      record.addedNodes.forEach((node) => {
        if (node.classList && node.classList.contains('answer-text')) { window.__answersSeen.push(node.textContent); }
      });
    }
  }).observe(root, { subtree: true, childList: true });
}"""


def test_verified_quotes_show_at_once_and_stay_when_the_written_answer_is_lost(
    page: Page, running: WidgetServer
) -> None:
    with httpx.Client(base_url=running.url, headers=ADMIN, timeout=60) as client:
        quotes = client.post("/v1/ask", json={"question": CANONICAL}).json()
        written = client.post("/v1/ask", json={"question": "Where did Russia hold military drills?"}).json()
    assert quotes["citations"] and written["citations"]
    first_quote, first_written = quotes["sentences"][0]["text"], written["sentences"][0]["text"]
    assert first_quote != first_written
    demo(page, running, query=f"key={SITE_KEY}&open=1")
    page.evaluate(ANSWER_RECORDER)
    start = sse("passages", {"passages": []}) + sse("quotes", quotes) + sse("delta", {"text": "Russia is"})

    whole = start + sse("answer", written) + sse("done", {})
    page.route("**/v1/ask", lambda route: route.fulfill(status=200, content_type="text/event-stream", body=whole))
    replaced = ask(page, CANONICAL)
    shown: list[str] = page.evaluate("window.__answersSeen")
    assert first_quote in shown[0] and first_written in shown[-1]  # the quotes first, then the final answer
    final_text = replaced.locator(".answer-text").text_content() or ""
    assert first_written in final_text and first_quote not in final_text
    assert replaced.locator(".draft, .progress").count() == 0

    # The stream breaks after the quotes: they were verified before they were shown, so they stay the answer.
    page.unroute("**/v1/ask")
    page.route("**/v1/ask", lambda route: route.fulfill(status=200, content_type="text/event-stream", body=start))
    kept = ask(page, CANONICAL)
    assert first_quote in (kept.locator(".answer-text").text_content() or "")
    expect(kept.locator(".chip")).to_have_count(len(quotes["citations"]))
    note = kept.locator(".note").text_content() or ""
    assert "Connection lost" in note and "checked before they were shown" in note
    assert kept.locator(".error").count() == 0 and kept.locator(".draft").count() == 0

    page.reload()  # and they are part of the saved conversation
    page.locator(f"{WIDGET} .panel").wait_for(state="attached")
    expect(page.locator(f"{WIDGET} .exchange")).to_have_count(2)
    assert first_quote in (page.locator(f"{WIDGET} .answer-text").last.text_content() or "")


def test_aggressive_page_css_cannot_hide_or_restyle_the_widget(page: Page, running: WidgetServer) -> None:
    open_host_page(page, running, host_page(running.url, body=ARTICLE, style=AGGRESSIVE_CSS))
    launcher = page.locator(f"{WIDGET} .launcher")
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box is not None and box["height"] >= 36 and box["width"] >= 100
    open_panel(page)
    exchange = ask(page, CANONICAL)  # from another origin, with the site key: CORS and preflight
    exchange.locator(".chip").first.click()
    panel = page.locator(f"{WIDGET} .panel")
    panel_box = panel.bounding_box()
    assert panel_box is not None and panel_box["width"] >= 300 and panel_box["height"] >= 400
    style = page.locator(f"{WIDGET} .answer-text").evaluate(
        "node => { const s = getComputedStyle(node); return [s.fontSize, s.color, s.visibility]; }"
    )
    assert style == ["15px", "rgb(29, 29, 31)", "visible"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget.png"))


def test_phone_width_start_open_and_inline_mode(browser: Browser, running: WidgetServer) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        demo(phone, running, query=f"key={SITE_KEY}&open=1")
        panel = phone.get_by_role("dialog", name="Ask the articles")
        expect(panel).to_be_visible()  # data-footnote-open
        exchange = ask(phone, CANONICAL)
        for locator in (panel, phone.locator(f"{WIDGET} .input"), exchange.locator(".chip").first):
            box = locator.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375

        demo(phone, running, query=f"key={SITE_KEY}&inline=1")
        expect(phone.locator(f"{WIDGET} .launcher")).to_have_count(0)
        region = phone.get_by_role("region", name="Ask the articles")
        expect(region).to_be_visible()
        assert phone.locator(f"#footnote-chat > {WIDGET}").count() == 1
        assert ask(phone, CANONICAL).locator(".chip").count() >= 1
    finally:
        context.close()


def test_hostile_documents_and_model_replies_never_run_or_load_anything(
    page: Page, generating: WidgetServer, requests_seen: list[str]
) -> None:
    payloads = load_payloads()
    assert len(payloads) >= 50
    # A stored document with script and image payloads in its title and text (bench.xss_browser stores each
    # of the payloads as a document; here every one of them goes through every field of the synthetic pass).
    in_document = [p for p in payloads if p.vector in {"script-tag", "img-onerror", "svg-onload", "iframe-srcdoc"}]
    hostile = {
        "id": "heron-watch-xss",
        "title": "Heron watch <script>xssHit('title')</script><img src=x onerror=\"xssHit('title-img')\">",
        "date": "2025-04-02",
        "text": "\n\n".join(
            ["Heron watch: the wardens counted 214 nests at Lake Vesi this spring. <script>xssHit('doc')</script>"]
            + ["Heron watch: the wardens counted the nests again <img src=x onerror=\"xssHit('doc-img')\">."]
            + [f"Heron watch note {p.id}: {p.payload}" for p in in_document]
        ),
    }
    with httpx.Client(base_url=generating.url, headers=ADMIN, timeout=120) as client:
        assert client.post("/v1/documents", json=hostile).status_code == 201
    # The model's draft carries every payload; the widget shows drafts while they stream.
    # Joined by spaces, they make few draft sentences: verification's cost grows with the sentence count.
    generating.llm.reply = " ".join(p.payload for p in payloads) + "\nThe wardens counted 214 nests [1]."
    probe = '<p class="question chip" id="probe">page text</p>'
    open_host_page(page, generating, host_page(generating.url, body=probe), path="/xss")
    page.evaluate(DRAFT_RECORDER)
    open_panel(page)

    with page.expect_response("**/v1/ask", timeout=120_000) as response_info:
        exchange = ask(page, "How many heron nests did the wardens count at Lake Vesi?", timeout_ms=120_000)
    assert "event: delta" in response_info.value.text()
    draft_seen: str = page.evaluate("window.__draftSeen")
    assert all(p.payload in draft_seen for p in payloads)  # every payload was shown while it streamed, as text
    assert exchange.locator(".draft").count() == 0  # and the verified answer replaced the draft
    assert exchange.locator(".chip").count() >= 1
    open_every_chip(exchange)
    assert "Heron watch" in (exchange.locator(".sources").text_content() or "")

    # Every payload in every field a document or a model controls, over one synthetic stream.
    answer_with_stream(page, generating, hostile_answer_stream(payloads))
    synthetic = ask(page, "anything")
    assert synthetic.locator(".chip").count() == len(payloads)
    shown = synthetic.evaluate(CLICK_EVERY_CHIP)
    assert shown == [[p.payload, p.payload, "[" + str(i) + "] " + p.payload] for i, p in enumerate(payloads, 1)]
    assert synthetic.locator(".sources li").all_text_contents()[0].startswith(payloads[0].payload)
    page.wait_for_timeout(500)  # let any image error or deferred handler fire before looking

    assert xss_hits(page) == []
    assert not outside_requests(requests_seen)
    assert widget_tags(page) <= WIDGET_TAGS
    assert page.locator(f"{WIDGET} a").count() == 0  # no source is on an allowed host
    # The widget's styles do not leak: the page's element with the widget's class names keeps its own look.
    assert page.locator("#probe").evaluate("node => getComputedStyle(node).backgroundColor") == "rgba(0, 0, 0, 0)"


def test_links_are_made_only_to_allowed_hosts(page: Page, running: WidgetServer, requests_seen: list[str]) -> None:
    sources = ["https://news.example/heron", "https://evil.example/x", "javascript:xssHit('link')", "//news.example/a"]
    citations = [
        {"marker": i, "document_id": f"d{i}", "title": f"Article {i}", "date": None, "source": s, "quote": "Quote."}
        for i, s in enumerate(sources, 1)
    ]
    answer = {
        "text": "Herons.",
        "sentences": [{"text": "Herons.", "markers": [1, 2, 3, 4]}],
        "citations": citations,
        "abstained": False,
    }
    answer_with_stream(page, running, sse("answer", answer) + sse("done", {}))
    html = host_page(running.url, attributes='data-footnote-link-hosts="news.example"')
    open_host_page(page, running, html, path="/links")
    open_panel(page)
    exchange = ask(page, "herons?")
    links = exchange.locator(".sources a")
    assert links.count() == 1 and links.first.get_attribute("href") == "https://news.example/heron"
    assert links.first.get_attribute("rel") == "noopener noreferrer nofollow"
    assert xss_hits(page) == [] and not outside_requests(requests_seen)


def test_an_answer_from_the_real_embedded_model(page: Page, generating: WidgetServer) -> None:
    """The real embedded model (allowed per request) behind the widget: its draft streams, then verification."""

    def with_embedded_model(route: Route, request: Request) -> None:
        body = {**json.loads(request.post_data or "{}"), "model": "footnote/qwen2.5-coder-1.5b"}
        route.continue_(post_data=json.dumps(body))

    page.route("**/v1/ask", with_embedded_model)
    demo(page, generating)
    open_panel(page)
    calls_to_fake = len(generating.llm.requests)
    with page.expect_response("**/v1/ask", timeout=240_000) as response_info:
        exchange = ask(page, CANONICAL, timeout_ms=240_000)
    body = response_info.value.text()
    answer = final_answer(body)
    # The embedded model's draft streamed before the verified answer.
    assert "event: delta" in body, {key: answer[key] for key in ("mode", "model", "abstained", "usage", "timings")}
    assert len(generating.llm.requests) == calls_to_fake  # the fake model was not asked
    assert answer["model"] in {"footnote/qwen2.5-coder-1.5b", "extractive"}
    assert not answer["abstained"]
    documents = stored_documents(generating)
    chips = exchange.locator(".chip")
    assert chips.count() >= 1
    chips.first.click()
    title = (exchange.locator(".popover-title").text_content() or "").split("] ", 1)[1]
    assert (exchange.locator(".popover-quote").text_content() or "") in documents[title]["text"]
