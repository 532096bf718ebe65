"""ASGI middleware: a request id, structured logs and metrics per request, body-size limits and CORS.

Plain ASGI rather than BaseHTTPMiddleware, so streamed answers pass through untouched.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api_errors import error_response
from service.metrics import Metrics

logger = logging.getLogger("footnote.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CORS_MAX_AGE_S = "600"


class BodyTooLarge(Exception):
    """The request body passed its limit while being read."""


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

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge
            await self.app(scope, receive_limited, send_with_id)
        except BodyTooLarge:
            if response_started:
                raise
            response = error_response(413, "too_large", f"the request body is over the limit of {limit} bytes")
            await response(scope, receive, send_with_id)
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
