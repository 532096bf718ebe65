"""Hostile users at the HTTP API (OWASP LLM05, LLM10): malformed, oversized, nested and non-UTF-8 requests get a
4xx in the one error shape, never a 5xx; and one client flooding the API is held back while another is served.

The probes are harness/hostile_requests.py's (bench/hostile_requests.py sends them to a real `footnote serve`),
written as raw bytes to a real uvicorn server (in this process, on fake models), so the HTTP parsing is the real one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from harness.hostile_requests import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, Probe, probes, run_probes
from harness.server import free_port
from service.answering.llm import Completion, Message
from tests.fakes import FakeChatModel
from tests.service.api_support import CANONICAL, make_app

PROBES = probes()


@contextmanager
def serving(app: FastAPI) -> Iterator[tuple[str, int]]:
    """Run the app under a real uvicorn server in a thread; yields its host and port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def hostile_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    app = make_app(tmp_path_factory.mktemp("hostile"), max_body_bytes=MAX_BODY_BYTES, max_upload_bytes=MAX_UPLOAD_BYTES)
    with serving(app) as target:
        yield target


def test_the_probe_set_covers_every_category() -> None:
    categories = {probe.category for probe in PROBES}
    assert {"oversized", "nested", "malformed", "non_utf8", "content_type", "headers"} <= categories
    assert len(PROBES) >= 50


@pytest.mark.parametrize("probe", PROBES, ids=[f"{p.category}-{p.name}" for p in PROBES])
def test_a_hostile_request_gets_a_4xx_in_the_error_shape(probe: Probe, hostile_target: tuple[str, int]) -> None:
    [result] = run_probes(*hostile_target, [probe])
    assert result.status is not None and 400 <= result.status < 500, f"{result.status}: {result.note}"
    if probe.app_level:
        assert result.json_shape, f"not the JSON error shape: {result.note}"


def test_a_query_string_that_is_not_utf8_is_refused_not_answered(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        refused = client.get("/v1/search?q=%ff")
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_encoding"
        assert client.get("/v1/search?q=caf%C3%A9").status_code == 200, "UTF-8 percent-encoding is fine"
        assert client.get("/v1/documents/%ff").status_code == 400


def test_json_routes_refuse_other_content_types_with_415(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        body = b'{"question": "why is Russia expanding its role?"}'
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            refused = client.post("/v1/ask", content=body, headers={"Content-Type": content_type})
            assert refused.status_code == 415 and refused.json()["code"] == "unsupported_media_type", content_type
        accepted = client.post("/v1/ask", content=body, headers={"Content-Type": "application/json; charset=utf-8"})
        assert accepted.status_code == 200


def test_deep_nesting_is_a_4xx_and_the_server_keeps_answering(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        deep = '{"question": ' + "[" * 100_000 + "]" * 100_000 + "}"
        refused = client.post("/v1/ask", content=deep, headers={"Content-Type": "application/json"})
        assert 400 <= refused.status_code < 500 and set(refused.json()) == {"detail", "code"}
        assert client.post("/v1/ask", json={"question": CANONICAL}).status_code == 200


class BlockingChatModel(FakeChatModel):
    """Holds every generation until released, so a test can fill the generation slots deterministically."""

    def __init__(self) -> None:
        super().__init__([])
        self.release = threading.Event()

    def complete(self, messages: Sequence[Message]) -> Completion:
        assert self.release.wait(timeout=60), "the test never released the model"
        return Completion(text="Russia held drills [1].", prompt_tokens=1, completion_tokens=1)


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    return thread, box


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_a_flooding_client_is_rate_limited_while_another_address_is_served(tmp_path: Path) -> None:
    with serving(make_app(tmp_path, rate_limit_per_address=5, rate_limit_per_minute=10_000)) as (host, port):
        base = f"http://{host}:{port}"
        flood = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"), timeout=30)
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30)
        with flood, other:
            statuses = [flood.get(f"{base}/v1/search", params={"q": "drills"}).status_code for _ in range(12)]
            assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
            limited = flood.get(f"{base}/v1/search", params={"q": "drills"})
            assert limited.json()["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
            assert other.get(f"{base}/v1/search", params={"q": "drills"}).status_code == 200
            assert other.post(f"{base}/v1/ask", json={"question": CANONICAL}).status_code == 200


def test_one_address_cannot_take_every_generation_slot(tmp_path: Path) -> None:
    model = BlockingChatModel()
    app = make_app(
        tmp_path,
        chat_model=model,
        max_concurrent_generations=2,
        max_queued_generations=8,
        max_generations_per_address=2,
    )
    with serving(app) as (host, port):
        base = f"http://{host}:{port}"
        slots = app.state.footnote.slots
        flood = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"), timeout=60)
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=60)
        with flood, other:
            ask: Callable[[httpx.Client], httpx.Response] = lambda c: c.post(  # noqa: E731
                f"{base}/v1/ask", json={"question": CANONICAL}
            )
            held = [_in_thread(lambda: ask(flood)) for _ in range(2)]
            _until(lambda: slots.running == 2, "the flood to hold both slots")
            turned_away = [ask(flood) for _ in range(4)]
            assert [r.status_code for r in turned_away] == [429] * 4
            assert turned_away[0].json()["code"] == "rate_limited" and turned_away[0].headers["retry-after"]
            waiting = _in_thread(lambda: ask(other))
            _until(lambda: slots.waiting == 1, "the other client to queue for a slot")
            model.release.set()
            for thread, _ in [*held, waiting]:
                thread.join(timeout=60)
            assert [box[0].status_code for _, box in held] == [200, 200]
            assert waiting[1][0].status_code == 200, "the other client was served"
            assert slots.running == 0


def test_a_collection_of_documents_without_words_is_still_served(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        for document in client.get("/v1/documents").json()["items"]:
            assert client.delete(f"/v1/documents/{document['id']}").status_code == 204
        added = client.post("/v1/documents", json={"id": "marks", "title": "À¨", "text": "@ /* ¿ — ¡"})
        assert added.status_code == 201
        assert client.get("/v1/search", params={"q": "Ò-³"}).status_code == 200
        assert client.post("/v1/ask", json={"question": "what?"}).status_code == 200
