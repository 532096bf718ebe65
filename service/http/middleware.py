"""ASGI middleware: a request id, structured logs and metrics per request, body-size limits and CORS.

Plain ASGI rather than BaseHTTPMiddleware, so streamed answers pass through untouched.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import error_response
from service.http.metrics import Metrics

logger = logging.getLogger("footnote.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CORS_MAX_AGE_S = "600"


# Beyond these, a request's headers are refused with 431 (uvicorn accepts any size when they arrive at once).
MAX_HEADER_BYTES = 32_768
MAX_HEADER_COUNT = 100


class BodyTooLarge(HTTPException):
    """The request body passed its limit while being read (an HTTPException, so FastAPI's body parsing lets it
    through as a 413 instead of calling it a parse error)."""

    code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class BodyNotUtf8(HTTPException):
    """A JSON body that is not UTF-8 (RFC 8259 requires it; Python would otherwise guess UTF-16 or -32)."""

    code = "invalid_encoding"

    def __init__(self) -> None:
        super().__init__(400, "the JSON body is not valid UTF-8")


class RequestContextMiddleware:
    """Gives each request an id (echoed in X-Request-ID), limits its body, and logs and counts it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, body_limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.metrics = metrics
        self.body_limit_for = body_limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        offered = headers.get(REQUEST_ID_HEADER.lower(), "")
        request_id = offered if _SAFE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.body_limit_for(scope["path"])
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        received = 0
        utf8 = codecs.getincrementaldecoder("utf-8")() if _expects_json(scope, headers) else None

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(limit)
                if utf8 is not None:
                    try:
                        utf8.decode(chunk, final=not message.get("more_body", False))
                    except UnicodeDecodeError:
                        raise BodyNotUtf8() from None
            return message

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge(limit)
            refusal = refuse_malformed(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
                return
            await self.app(scope, receive_limited, send_with_id)
        except (BodyTooLarge, BodyNotUtf8) as error:
            if response_started:
                raise
            await error_response(error.status_code, error.code, error.detail)(scope, receive, send_with_id)
        finally:
            self._record(scope, status, started, request_id)

    def _record(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        self.metrics.requests.labels(route=route, method=scope["method"], status=str(status)).inc()
        self.metrics.latency.labels(route=route).observe(elapsed)
        client = scope.get("client")
        # Only what is safe to keep: never headers (keys travel there) nor bodies (questions may be private).
        logger.info(
            json.dumps(
                {
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(1000 * elapsed, 1),
                    "client": client[0] if client else None,
                }
            )
        )


# Routes whose body is JSON only: another declared content type is refused with 415 before anything is parsed.
_JSON_ONLY_ROUTES = frozenset({"/v1/ask", "/v1/chat/completions"})


def refuse_malformed(scope: Scope, headers: Headers) -> Response | None:
    """A 4xx for a request no route should see: a path or query string that is not UTF-8 once percent-decoded
    (servers otherwise decode it with replacement characters and answer as if nothing happened), or a body
    declared as something other than JSON on a JSON route."""
    raw_headers = scope.get("headers", [])
    if len(raw_headers) > MAX_HEADER_COUNT or sum(len(k) + len(v) for k, v in raw_headers) > MAX_HEADER_BYTES:
        return error_response(
            431,
            "headers_too_large",
            f"at most {MAX_HEADER_COUNT} headers and {MAX_HEADER_BYTES} bytes of them are accepted",
        )
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    for part, name in ((raw_path, "path"), (scope.get("query_string", b""), "query string")):
        try:
            unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return error_response(400, "invalid_encoding", f"the {name} is not valid UTF-8 once percent-decoded")
    if scope["method"] in {"POST", "PUT", "PATCH"} and scope["path"].rstrip("/") in _JSON_ONLY_ROUTES:
        declared = headers.get("content-type")
        if declared is not None and not _is_json(declared):
            return error_response(415, "unsupported_media_type", "send the body as application/json")
    return None


def _expects_json(scope: Scope, headers: Headers) -> bool:
    """Whether the body will be parsed as JSON: declared so, or sent without a type to a JSON route."""
    declared = headers.get("content-type")
    if declared is None:
        return scope["path"].rstrip("/") in _JSON_ONLY_ROUTES
    return _is_json(declared)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class CorsMiddleware:
    """CORS for the origins of the site keys only; everyone else gets no CORS headers at all."""

    def __init__(self, app: ASGIApp, *, origins: set[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin.rstrip("/").lower() in self.origins
        if scope["method"] == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            if not allowed:
                await error_response(403, "origin_not_allowed", "this origin may not call Footnote")(
                    scope, receive, send
                )
                return
            preflight = Response(
                status_code=204,
                headers={
                    **_cors_headers(origin or ""),
                    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Request-ID",
                    "Access-Control-Max-Age": _CORS_MAX_AGE_S,
                },
            )
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed:
                MutableHeaders(scope=message).update(_cors_headers(origin or ""))
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": f"{REQUEST_ID_HEADER}, Retry-After",
        "Vary": "Origin",
    }
