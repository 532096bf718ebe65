"""Ask a running Footnote over HTTP: POST /v1/ask as Server-Sent Events, which carry the retrieved passages first."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from eval.questions import EvalQuestion
from eval.runner import Asked, QuestionFailedError
from index import FootnoteError
from service.answering import Answer


class RemoteError(FootnoteError):
    """The remote Footnote could not be reached or answered with an error."""

    code = "remote_error"


class RemoteSource:
    """Answers from a Footnote server at `base_url`, sending `Authorization: Bearer KEY` when a key is given."""

    def __init__(self, base_url: str, *, key: str | None, k: int | None = None, timeout_s: float = 300.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise RemoteError(f"--base-url must be an http(s) URL such as http://127.0.0.1:8000, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._requested_k = k
        self.k = k or 6
        self._timeout_s = timeout_s
        self._texts: dict[str, str | None] = {}

    def ready(self) -> dict[str, Any]:
        """The server's /readyz report (documents, model, answer mode); it also sets k to the server's default."""
        report = self._json("GET", "/readyz", None)
        return report

    def ask(self, question: EvalQuestion) -> Asked:
        """One answer, with the documents of the passages the server retrieved for it."""
        body: dict[str, Any] = {"question": question.question, "stream": True}
        if question.history:
            body["history"] = [turn.model_dump() for turn in question.history]
        if self._requested_k is not None:
            body["k"] = self._requested_k
        started = time.perf_counter()
        retrieved: list[str] = []
        answer: Answer | None = None
        with self._open("POST", "/v1/ask", body) as response:
            for event, data in _sse_events(response):
                if event == "passages":
                    retrieved = [str(p["document_id"]) for p in data.get("passages", [])]
                elif event == "answer":
                    try:
                        answer = Answer.model_validate(data)
                    except ValidationError as error:
                        raise RemoteError(
                            f"{self.base_url} sent an answer this version cannot read: {error}"
                        ) from error
                elif event == "error":
                    raise QuestionFailedError(f"{self.base_url}: {data.get('code')}: {data.get('detail')}")
        if answer is None:
            raise RemoteError(f"{self.base_url} ended the stream without an answer")
        return Asked(answer, retrieved, 1000 * (time.perf_counter() - started))

    def document_text(self, document_id: str) -> str | None:
        """The server's canonical text of a document (needs a key allowed to read documents), None if unknown."""
        if document_id not in self._texts:
            path = "/v1/documents/" + urllib.parse.quote(document_id, safe="")
            try:
                self._texts[document_id] = str(self._json("GET", path, None)["text"])
            except _NotFound:
                self._texts[document_id] = None
        return self._texts[document_id]

    def _json(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        with self._open(method, path, body) as response:
            data = json.loads(response.read().decode("utf-8"))
        if not isinstance(data, dict):
            raise RemoteError(f"{self.base_url}{path}: expected a JSON object")
        return data

    def _open(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        headers = {"Accept": "application/json, text/event-stream"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=self._timeout_s)  # noqa: S310 (the user's own server)
        except urllib.error.HTTPError as error:
            if error.code == 404 and path.startswith("/v1/documents/"):
                raise _NotFound from error
            if error.code >= 500 and path == "/v1/ask":
                # Busy or timed out: this question failed, the next one may not.
                message = f"{method} {self.base_url}{path}: HTTP {error.code}: {_detail(error)}"
                raise QuestionFailedError(message) from error
            raise RemoteError(f"{method} {self.base_url}{path}: HTTP {error.code}: {_detail(error)}") from error
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RemoteError(f"cannot reach {self.base_url}: {reason}") from error


class _NotFound(Exception):
    pass


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(error.read().decode("utf-8"))
        return str(payload.get("detail", payload)) if isinstance(payload, dict) else str(payload)
    except (ValueError, OSError):
        return error.reason or "no detail"


def _sse_events(response: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a Server-Sent Events stream whose data lines are JSON objects."""
    event = "message"
    data: list[str] = []
    for raw in response:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                payload = json.loads("\n".join(data))
                yield event, payload if isinstance(payload, dict) else {"value": payload}
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        payload = json.loads("\n".join(data))
        yield event, payload if isinstance(payload, dict) else {"value": payload}
