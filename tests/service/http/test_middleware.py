"""The ASGI middleware driven directly, message by message: request ids, body limits while the body arrives,
UTF-8 checks across chunks, malformed requests, per-request metrics, CORS and streamed responses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.metrics import Metrics
from service.http.middleware import (
    MAX_HEADER_COUNT,
    REQUEST_ID_HEADER,
    CorsMiddleware,
    RequestContextMiddleware,
    refuse_malformed,
)

LIMIT = 100
ORIGIN = "https://news.example"


@dataclass
class Reply:
    """What went out: the status, the headers and every body message, in order."""

    status: int = 0
    headers: Headers = field(default_factory=Headers)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def json(self) -> dict[str, str]:
        loaded: dict[str, str] = json.loads(b"".join(self.bodies))
        return loaded


@dataclass
class Inner:
    """The app behind the middleware: reads the whole body, then answers 200 in the given chunks."""

    chunks: Sequence[bytes] = (b"ok",)
    calls: int = 0
    received: bytes = b""
    request_id: str | None = None
    fail: bool = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        self.request_id = scope.get("state", {}).get("request_id")
        while True:
            message = await receive()
            self.received += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if self.fail:
            raise RuntimeError("the app failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for n, chunk in enumerate(self.chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": n < len(self.chunks) - 1})


def scope_for(
    path: str = "/v1/search",
    *,
    method: str = "POST",
    headers: Sequence[tuple[str, str]] = (),
    query: bytes = b"",
    raw_path: bytes | None = None,
) -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode(),
        "query_string": query,
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ("127.0.0.1", 5000),
    }


def run(app: ASGIApp, scope: Scope, body: Sequence[bytes] = (b"",)) -> Reply:
    """Send `body` in the given chunks and collect the reply."""
    reply = Reply()
    pending = [{"type": "http.request", "body": chunk, "more_body": n < len(body) - 1} for n, chunk in enumerate(body)]

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
            reply.headers = Headers(raw=message.get("headers", []))
        else:
            reply.bodies.append(message.get("body", b""))

    async def serve() -> None:
        await app(scope, receive, send)

    asyncio.run(serve())
    return reply


def context(inner: Inner, metrics: Metrics | None = None, *, upload_limit: int = 10 * LIMIT) -> ASGIApp:
    return RequestContextMiddleware(
        inner,
        metrics=metrics or Metrics(),
        body_limit_for=lambda path: upload_limit if path == "/v1/documents" else LIMIT,
    )


def test_the_request_id_the_app_sees_is_the_one_the_response_carries() -> None:
    inner = Inner()
    offered = run(context(inner), scope_for(headers=[(REQUEST_ID_HEADER, "trace-7.a_b")]))
    assert offered.headers[REQUEST_ID_HEADER] == inner.request_id == "trace-7.a_b"
    generated = run(context(inner), scope_for(headers=[(REQUEST_ID_HEADER, "x" * 65)]))
    assert generated.headers[REQUEST_ID_HEADER] == inner.request_id and len(inner.request_id or "") == 32


def test_a_declared_body_over_the_limit_is_refused_before_the_app_runs() -> None:
    inner = Inner()
    reply = run(context(inner), scope_for(headers=[("content-length", str(LIMIT + 1))]), [b"{}"])
    assert reply.status == 413 and reply.json["code"] == "too_large"
    assert inner.calls == 0


def test_an_undeclared_body_is_cut_off_once_its_chunks_pass_the_limit() -> None:
    inner = Inner()
    reply = run(context(inner), scope_for(), [b"a" * 60, b"b" * 60, b"c" * 60])
    assert reply.status == 413 and reply.headers[REQUEST_ID_HEADER]
    assert inner.received == b"a" * 60, "the chunk that crossed the limit never reached the app"


def test_each_path_has_its_own_limit_and_a_body_at_the_limit_passes() -> None:
    assert run(context(Inner()), scope_for(), [b"x" * LIMIT]).status == 200
    upload = b"x" * (5 * LIMIT)
    assert run(context(Inner()), scope_for("/v1/documents"), [upload]).status == 200
    assert run(context(Inner()), scope_for("/v1/search"), [upload]).status == 413


def test_a_json_body_must_be_utf8_even_when_a_character_is_split_across_chunks() -> None:
    json_type = [("content-type", "application/json")]
    split = '{"q": "café"}'.encode()
    cut = split.index(b"\xa9")  # between the two bytes of "é"
    inner = Inner()
    assert run(context(inner), scope_for(headers=json_type), [split[:cut], split[cut:]]).status == 200
    assert inner.received == split
    latin1 = '{"q": "café"}'.encode("latin-1")
    reply = run(context(Inner()), scope_for(headers=json_type), [latin1])
    assert reply.status == 400 and reply.json["code"] == "invalid_encoding"
    truncated = run(context(Inner()), scope_for(headers=json_type), [split[:cut]])
    assert truncated.status == 400, "a body that ends inside a character is not UTF-8 either"


def test_only_json_bodies_are_held_to_utf8() -> None:
    latin1 = "café".encode("latin-1")
    assert (
        run(context(Inner()), scope_for("/v1/documents", headers=[("content-type", "text/plain")]), [latin1]).status
        == 200
    )
    untyped_json_route = run(context(Inner()), scope_for("/v1/ask"), [latin1])
    assert untyped_json_route.status == 400, "a body without a type sent to a JSON route is read as JSON"


def test_responses_stream_through_chunk_by_chunk() -> None:
    reply = run(context(Inner(chunks=[b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"])), scope_for())
    assert reply.bodies == [b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"]


def test_every_request_is_counted_by_route_and_status_even_when_refused_or_failed() -> None:
    metrics = Metrics()
    run(context(Inner(), metrics), scope_for())
    run(context(Inner(), metrics), scope_for(headers=[("content-length", "1000")]))
    with pytest.raises(RuntimeError):
        run(context(Inner(fail=True), metrics), scope_for())

    def count(status: str) -> float | None:
        labels = {"route": "unmatched", "method": "POST", "status": status}
        return metrics.registry.get_sample_value("footnote_http_requests_total", labels)

    assert (count("200"), count("413"), count("500")) == (1.0, 1.0, 1.0)
    latency = metrics.registry.get_sample_value("footnote_http_request_duration_seconds_count", {"route": "unmatched"})
    assert latency == 3.0


def test_header_count_at_the_limit_passes_and_one_more_is_a_431() -> None:
    headers = [(f"x-h{n}", "v") for n in range(MAX_HEADER_COUNT)]
    assert refuse_malformed(scope_for(headers=headers), Headers()) is None
    too_many = refuse_malformed(scope_for(headers=[*headers, ("x-one-more", "v")]), Headers())
    assert too_many is not None and too_many.status_code == 431
    huge = refuse_malformed(scope_for(headers=[("x-big", "v" * 40_000)]), Headers())
    assert huge is not None and huge.status_code == 431


def test_a_path_or_query_that_is_not_utf8_once_decoded_is_a_400() -> None:
    assert refuse_malformed(scope_for(raw_path=b"/v1/documents/%ff"), Headers()) is not None
    assert refuse_malformed(scope_for(query=b"q=%C3"), Headers()) is not None
    assert refuse_malformed(scope_for(raw_path=b"/v1/documents/caf%C3%A9", query=b"q=%C3%A9"), Headers()) is None


@pytest.mark.parametrize(
    ("method", "path", "content_type", "status"),
    [
        ("POST", "/v1/ask", "text/plain", 415),
        ("POST", "/v1/ask/", "text/plain", 415),
        ("PUT", "/v1/chat/completions", "application/xml", 415),
        ("POST", "/v1/ask", "application/json; charset=utf-8", None),
        ("POST", "/v1/ask", "Application/Problem+JSON", None),
        ("GET", "/v1/ask", "text/plain", None),
        ("POST", "/v1/documents", "multipart/form-data; boundary=x", None),
    ],
)
def test_json_routes_refuse_other_declared_types(method: str, path: str, content_type: str, status: int | None) -> None:
    scope = scope_for(path, method=method, headers=[("content-type", content_type)])
    refusal = refuse_malformed(scope, Headers(scope=scope))
    assert (refusal.status_code if refusal is not None else None) == status


def cors(inner: Inner) -> ASGIApp:
    return CorsMiddleware(inner, origins={ORIGIN})


def test_cors_headers_go_only_to_the_allowed_origins() -> None:
    allowed = run(cors(Inner()), scope_for(headers=[("origin", ORIGIN)]))
    assert allowed.headers["access-control-allow-origin"] == ORIGIN and allowed.headers["vary"] == "Origin"
    assert "Retry-After" in allowed.headers["access-control-expose-headers"]
    spelled_otherwise = run(cors(Inner()), scope_for(headers=[("origin", "https://NEWS.example/")]))
    assert "access-control-allow-origin" in spelled_otherwise.headers
    for headers in ([("origin", "https://evil.example")], []):
        other = run(cors(Inner()), scope_for(headers=headers))
        assert other.status == 200 and "access-control-allow-origin" not in other.headers


def test_a_preflight_is_answered_by_the_middleware_and_never_reaches_the_app() -> None:
    inner = Inner()
    preflight = [("access-control-request-method", "POST")]
    allowed = run(cors(inner), scope_for(method="OPTIONS", headers=[*preflight, ("origin", ORIGIN)]))
    assert allowed.status == 204 and "POST" in allowed.headers["access-control-allow-methods"]
    assert allowed.headers["access-control-max-age"] == "600"
    refused = run(cors(inner), scope_for(method="OPTIONS", headers=[*preflight, ("origin", "https://evil.example")]))
    assert refused.status == 403 and refused.json["code"] == "origin_not_allowed"
    assert inner.calls == 0
    plain_options = run(cors(inner), scope_for(method="OPTIONS", headers=[("origin", ORIGIN)]))
    assert inner.calls == 1 and plain_options.status == 200, "OPTIONS without a preflight header is the app's"


def test_non_http_traffic_passes_both_middlewares_untouched() -> None:
    seen: list[str] = []

    async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def never_receive() -> Message:
        raise AssertionError("a lifespan passed through never reads an HTTP body")

    async def never_send(message: Message) -> None:
        raise AssertionError("a lifespan passed through never gets an HTTP response")

    async def serve(middleware: ASGIApp) -> None:
        await middleware({"type": "lifespan"}, never_receive, never_send)

    for middleware in (CorsMiddleware(lifespan_app, origins=set()), context_around(lifespan_app)):
        asyncio.run(serve(middleware))
    assert seen == ["lifespan", "lifespan"]


def context_around(app: ASGIApp) -> ASGIApp:
    return RequestContextMiddleware(app, metrics=Metrics(), body_limit_for=lambda path: LIMIT)
