"""Keys, origins, CORS, rate limits, the generation cap, body limits, request ids and metrics."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.service.api_support import (
    ADMIN_KEY,
    CANONICAL,
    GREAT_POWER,
    SITE_KEY,
    SITE_ORIGIN,
    QuotingChatModel,
    make_app,
    state_of,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SITE = {"Authorization": f"Bearer {SITE_KEY}", "Origin": SITE_ORIGIN}
NEW_DOCUMENT = {"id": "owl-note", "title": "Owl note", "text": "Owls in Oslo voted for a night curfew in 2023."}


def keyed_app(home: Path, *, rate_limit_per_minute: int = 10_000) -> TestClient:
    app = make_app(
        home, admin_key=ADMIN_KEY, site_keys={SITE_KEY: [SITE_ORIGIN]}, rate_limit_per_minute=rate_limit_per_minute
    )
    return TestClient(app)


def test_with_keys_configured_every_v1_request_needs_a_valid_key(tmp_path: Path) -> None:
    with keyed_app(tmp_path) as client:
        for response in (
            client.get("/v1/search", params={"q": "drills"}),
            client.post("/v1/ask", json={"question": CANONICAL}),
            client.get("/v1/documents"),
        ):
            assert response.status_code == 401 and response.json()["code"] == "missing_key"
        wrong = client.get("/v1/search", params={"q": "drills"}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_key"
        basic = client.get("/v1/search", params={"q": "drills"}, headers={"Authorization": "Basic abc"})
        assert basic.status_code == 401
        assert client.get("/healthz").status_code == 200, "probes need no key"


def test_a_site_key_may_ask_and_search_only_from_its_origins(tmp_path: Path) -> None:
    with keyed_app(tmp_path) as client:
        asked = client.post("/v1/ask", json={"question": CANONICAL}, headers=SITE)
        assert asked.status_code == 200
        assert asked.headers["access-control-allow-origin"] == SITE_ORIGIN
        assert client.get("/v1/search", params={"q": "drills"}, headers=SITE).status_code == 200
        elsewhere = client.post(
            "/v1/ask", json={"question": CANONICAL}, headers={**SITE, "Origin": "https://evil.example"}
        )
        assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in elsewhere.headers
        no_origin = client.get("/v1/search", params={"q": "drills"}, headers={"Authorization": f"Bearer {SITE_KEY}"})
        assert no_origin.status_code == 403


def test_writes_need_the_admin_key_and_a_site_key_cannot_write_or_read_documents(tmp_path: Path) -> None:
    with keyed_app(tmp_path) as client:
        refused = client.post("/v1/documents", json=NEW_DOCUMENT, headers=SITE)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert client.delete("/v1/documents/russia-afghan-security-2021", headers=SITE).status_code == 403
        assert client.get("/v1/documents/russia-afghan-security-2021", headers=SITE).status_code == 403
        assert client.post("/v1/documents", json=NEW_DOCUMENT).status_code == 401
        assert client.get("/v1/documents/owl-note", headers=ADMIN).status_code == 404, "nothing was written"
        assert client.post("/v1/documents", json=NEW_DOCUMENT, headers=ADMIN).status_code == 201
        assert client.get("/v1/documents/owl-note", headers=ADMIN).json()["text"] == NEW_DOCUMENT["text"]


def test_without_keys_only_this_machine_may_write_and_never_from_another_sites_page(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    with TestClient(app, client=("203.0.113.9", 5000)) as remote:
        assert remote.post("/v1/ask", json={"question": CANONICAL}).status_code == 200, "reading is open"
        refused = remote.post("/v1/documents", json=NEW_DOCUMENT)
        assert refused.status_code == 403 and "FOOTNOTE_ADMIN_KEY" in refused.json()["detail"]
    with TestClient(app, client=("127.0.0.1", 5000)) as local:
        cross_site = local.post("/v1/documents", json=NEW_DOCUMENT, headers={"Origin": "https://evil.example"})
        assert cross_site.status_code == 403
        assert local.post("/v1/documents", json=NEW_DOCUMENT).status_code == 201


def test_cors_preflight_is_answered_only_for_site_key_origins(tmp_path: Path) -> None:
    with keyed_app(tmp_path) as client:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        allowed = client.options("/v1/ask", headers={**preflight, "Origin": SITE_ORIGIN})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == SITE_ORIGIN
        assert "Authorization" in allowed.headers["access-control-allow-headers"]
        refused = client.options("/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def test_rate_limits_answer_429_with_retry_after_per_key_and_the_admin_key_is_exempt(tmp_path: Path) -> None:
    with keyed_app(tmp_path, rate_limit_per_minute=3) as client:
        statuses = [client.get("/v1/search", params={"q": "drills"}, headers=SITE).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        limited = client.get("/v1/search", params={"q": "drills"}, headers=SITE)
        assert limited.json()["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
        assert limited.headers["access-control-allow-origin"] == SITE_ORIGIN, "the widget can read the 429"
        assert all(client.get("/v1/documents", headers=ADMIN).status_code == 200 for _ in range(5))


def test_rate_limits_per_client_address(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, rate_limit_per_address=2), client=("198.51.100.7", 1)) as client:
        statuses = [client.get("/v1/search", params={"q": "drills"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


def test_generations_beyond_the_cap_and_queue_get_503_not_a_pile_up(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, chat_model=QuotingChatModel(GREAT_POWER), max_concurrent_generations=1, max_queued_generations=0
    )
    with TestClient(app) as client:
        slots = state_of(client).slots
        slots.acquire()  # a generation in progress
        try:
            busy = client.post("/v1/ask", json={"question": CANONICAL})
            assert busy.status_code == 503 and busy.json()["code"] == "busy" and busy.headers["retry-after"]
            streamed = client.post("/v1/ask", json={"question": CANONICAL, "stream": True})
            assert streamed.status_code == 503, "a full house is refused before the stream starts"
            assert client.get("/v1/search", params={"q": "drills"}).status_code == 200, "search is not capped"
        finally:
            slots.release()
        assert client.post("/v1/ask", json={"question": CANONICAL}).status_code == 200
        assert slots.running == 0


def test_oversized_bodies_get_413(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, max_body_bytes=2000, max_upload_bytes=5000)) as client:
        huge = client.post("/v1/ask", json={"question": "x" * 3000})
        assert huge.status_code == 413 and huge.json()["code"] == "too_large"
        upload = client.post("/v1/documents", files={"file": ("big.txt", b"word " * 2000, "text/plain")})
        assert upload.status_code == 413
        assert client.post("/v1/documents", json=NEW_DOCUMENT).status_code == 201, "uploads have their own limit"


def test_every_response_has_a_request_id_and_logs_never_hold_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="footnote.requests")
    with keyed_app(tmp_path) as client:
        response = client.get("/v1/search", params={"q": "drills"}, headers={**SITE, "X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"
        generated = client.get("/healthz").headers["x-request-id"]
        assert len(generated) == 32
        unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\r\n"}).headers["x-request-id"]
        assert unsafe != "bad id"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert '"request_id": "abc-123"' in logged and '"route": "/v1/search"' in logged
    assert SITE_KEY not in logged and ADMIN_KEY not in logged


def test_metrics_count_requests_answers_and_dropped_draft_sentences(tmp_path: Path) -> None:
    model = QuotingChatModel(GREAT_POWER, unsupported="Moscow plans to annex Kabul by 2030 [1].")
    with TestClient(make_app(tmp_path, chat_model=model)) as client:
        client.post("/v1/ask", json={"question": CANONICAL})
        client.post("/v1/ask", json={"question": "How do I bake sourdough bread?"})
        text = client.get("/metrics").text
    assert 'footnote_http_requests_total{method="POST",route="/v1/ask",status="200"} 2.0' in text
    assert 'footnote_answers_total{mode="generated"} 1.0' in text
    assert 'footnote_answers_total{mode="abstained"} 1.0' in text
    assert "footnote_draft_sentences_total 2.0" in text and "footnote_draft_sentences_dropped_total 1.0" in text
    assert 'footnote_http_request_duration_seconds_count{route="/v1/ask"} 2.0' in text


def test_readyz_reports_the_loaded_index(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready" and ready["documents"] == 2 and ready["passages"] > 10
