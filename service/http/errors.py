"""Every HTTP error as one JSON shape, `{"detail": ..., "code": ...}`, mapped in this one place."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from index import (
    DocumentLoadError,
    DocumentNotFoundError,
    FootnoteError,
    IndexUnavailableError,
    ReadOnlyReplicaError,
    StoreCorruptError,
    StoreMismatchError,
)
from service.answering import LLMError, LLMTimeoutError

logger = logging.getLogger(__name__)

# Domain errors and the status each one means over HTTP; subclasses are looked up before their bases.
_STATUS_OF: list[tuple[type[FootnoteError], int]] = [
    (DocumentNotFoundError, 404),
    (DocumentLoadError, 422),
    (LLMTimeoutError, 504),
    (LLMError, 502),
    (ReadOnlyReplicaError, 405),
    (IndexUnavailableError, 503),
    (StoreCorruptError, 503),
    (StoreMismatchError, 503),
]

_CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorOut(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(frozen=True)

    detail: str
    code: str


# For the OpenAPI schema: every error a /v1 route may answer with, in the one shape.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "The body could not be parsed.",
        401: "No key, or an invalid key.",
        403: "The key may not do this, or not from this origin.",
        404: "No such document.",
        413: "The body is over the size limit.",
        415: "Unsupported content type.",
        422: "The request is invalid.",
        429: "Rate limited; see Retry-After.",
        502: "The language model failed.",
        503: "Busy or still loading; see Retry-After.",
        504: "The language model timed out.",
    }.items()
}


class ApiError(Exception):
    """An error the API answers with directly: a status, a machine-readable code and a message for people."""

    def __init__(self, status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def error_response(status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON error response in the one shape."""
    return JSONResponse(ErrorOut(detail=detail, code=code).model_dump(), status_code=status, headers=headers)


def status_of(error: FootnoteError) -> int:
    """The HTTP status a domain error maps to."""
    for kind, status in _STATUS_OF:
        if isinstance(error, kind):
            return status
    return 500


def install_error_handlers(app: FastAPI) -> None:
    """Map API errors, domain errors, validation errors and framework errors to the one shape."""

    async def on_api_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.code, error.detail, headers=error.headers)

    async def on_domain_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, FootnoteError)
        status = status_of(error)
        if status >= 500:
            logger.warning("%s failed: %s", request.url.path, error)
        return error_response(status, error.code, str(error))

    async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return error_response(422, "invalid_request", describe_validation_errors(error.errors()))

    async def on_http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        # Our own HTTPException subclasses (the middleware's body checks) carry their code.
        code = getattr(error, "code", None) or _CODE_OF_STATUS.get(error.status_code, "http_error")
        headers = dict(error.headers or {})
        if error.status_code == 405:
            # Starlette names only the methods of the first route on the path; list those of every route.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(error.status_code, code, str(error.detail), headers=headers)

    async def on_unexpected_error(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s", request.url.path)
        return error_response(500, "internal_error", "Footnote hit an unexpected error; it has been logged.")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(FootnoteError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(request.url.path):
            methods |= route.methods or set()
    return sorted(methods)


def describe_validation_errors(errors: Any) -> str:
    """Pydantic's errors as one readable line per field: `body.question: String should have at most ...`."""
    lines = []
    for error in list(errors)[:5]:
        location = ".".join(str(part) for part in error.get("loc", ()))
        lines.append(f"{location}: {error.get('msg', 'invalid')}" if location else str(error.get("msg", "invalid")))
    return "; ".join(lines) or "invalid request"
