"""Concurrency: questions answered correctly while documents are added and deleted through the API.

Asker threads send questions (`POST /v1/ask`) and searches (`GET /v1/search`) while a writer thread keeps
adding documents (`POST /v1/documents`) and deleting the oldest (`DELETE /v1/documents/{id}`). Every citation
and every search hit is checked afterwards against the documents that existed at the time: its quote must be
the cited document's text at its offsets, and the document must have existed at some moment between the
request being sent and its answer arriving (added before the answer, not deleted before the question).
Any 5xx is a failure. `run_workload` takes any client with httpx's get/post/delete: Starlette's TestClient in
tests/service/http/test_api_concurrency.py, an httpx.Client on a real server in bench/concurrency.py.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_PLACES = "harbour river valley mountain island forest desert lake".split()
_THINGS = "railway bridge school hospital library tunnel airport museum".split()


def churn_text(number: int) -> str:
    """A short article with facts only it holds, so questions about it must cite it."""
    rng = random.Random(number)
    place, thing = rng.choice(_PLACES), rng.choice(_THINGS)
    amount, year = rng.randint(2, 900), rng.randint(1900, 2024)
    town = f"Zq{number}town"
    return (
        f"The {place} council of {town} approved a new {thing} in {year}. "
        f"The {thing} in {town} will cost {amount} million crowns, the council said. "
        f"Residents of {town} voted on the {thing} plan twice before it passed."
    )


def churn_question(number: int) -> str:
    """A question whose answer lies in `churn_text(number)`."""
    return f"What did the council of Zq{number}town approve and what will it cost?"


@dataclass
class _Request:
    sent: float
    received: float
    status: int
    kind: str
    hits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ConcurrencyResult:
    """What the run did and what the checks found."""

    seconds: float = 0.0
    answers: int = 0
    answers_with_citations: int = 0
    searches: int = 0
    citations_checked: int = 0
    search_hits_checked: int = 0
    wrong_citations: int = 0
    server_errors: int = 0
    added: int = 0
    deleted: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No wrong citation, no 5xx, and enough happened to mean something."""
        return self.wrong_citations == 0 and self.server_errors == 0 and self.citations_checked > 0 and self.deleted > 0


def run_workload(client: Any, *, seconds: float, askers: int = 3, seed: int = 1, live: int = 4) -> ConcurrencyResult:
    """Ask and search from `askers` threads while one thread adds and deletes documents, for `seconds`."""
    texts: dict[str, str] = {}
    added_at: dict[str, float] = {}
    deleted_at: dict[str, float] = {}
    for summary in client.get("/v1/documents", params={"limit": 200}).json()["items"]:
        texts[summary["id"]] = client.get(f"/v1/documents/{summary['id']}").json()["text"]
        added_at[summary["id"]] = -math.inf
    bundled = sorted(texts)
    requests: list[_Request] = []
    writes: list[_Request] = []
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds
    newest = [0]  # the last churn document the writer has started to add

    def writer() -> None:
        alive: list[str] = []
        number = 0
        while time.monotonic() < deadline:
            number += 1
            document_id = f"churn-{number}"
            with lock:
                added_at[document_id] = time.monotonic()
                newest[0] = number
            response = client.post(
                "/v1/documents", json={"id": document_id, "title": f"Council {number}", "text": churn_text(number)}
            )
            writes.append(_Request(added_at[document_id], time.monotonic(), response.status_code, "add"))
            if response.status_code == 201:
                texts[document_id] = client.get(f"/v1/documents/{document_id}").json()["text"]
                alive.append(document_id)
            while len(alive) > live:
                gone = alive.pop(0)
                sent = time.monotonic()
                response = client.delete(f"/v1/documents/{gone}")
                with lock:
                    deleted_at[gone] = time.monotonic()
                writes.append(_Request(sent, deleted_at[gone], response.status_code, "delete"))

    def asker(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        while time.monotonic() < deadline:
            with lock:
                recent = newest[0]
            target = max(1, recent - rng.randint(0, live + 2))
            question = (
                churn_question(target) if rng.random() < 0.8 or not bundled else "why is Russia expanding its role?"
            )
            sent = time.monotonic()
            if rng.random() < 0.7:
                response = client.post("/v1/ask", json={"question": question})
                kind, key = "ask", "citations"
            else:
                response = client.get("/v1/search", params={"q": question, "k": 6})
                kind, key = "search", "passages"
            received = time.monotonic()
            hits = response.json().get(key, []) if response.status_code == 200 else []
            with lock:
                requests.append(_Request(sent, received, response.status_code, kind, hits))

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=asker, args=(i,)) for i in range(askers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = ConcurrencyResult(seconds=round(time.monotonic() - started, 1))
    statuses = Counter(f"{r.kind} {r.status}" for r in requests + writes)
    result.statuses = dict(sorted(statuses.items()))
    result.server_errors = sum(1 for r in requests + writes if r.status >= 500)
    result.added = sum(1 for w in writes if w.kind == "add" and w.status == 201)
    result.deleted = sum(1 for w in writes if w.kind == "delete" and w.status == 204)
    for request in requests:
        if request.kind == "ask":
            result.answers += request.status == 200
            result.answers_with_citations += bool(request.hits)
            result.citations_checked += len(request.hits)
        else:
            result.searches += request.status == 200
            result.search_hits_checked += len(request.hits)
        for hit in request.hits:
            problem = _check_hit(hit, request, texts, added_at, deleted_at)
            if problem is not None:
                result.wrong_citations += 1
                if len(result.problems) < 10:
                    result.problems.append(problem)
    return result


def _check_hit(
    hit: dict[str, Any],
    request: _Request,
    texts: dict[str, str],
    added_at: dict[str, float],
    deleted_at: dict[str, float],
) -> str | None:
    document_id = hit["document_id"]
    quote = hit["quote"] if request.kind == "ask" else hit["text"]
    text = texts.get(document_id)
    if text is None:
        return f"{request.kind}: {document_id!r} is not a document that was ever stored"
    if text[hit["start"] : hit["end"]] != quote:
        return f"{request.kind}: the quote from {document_id!r} is not its text at {hit['start']}-{hit['end']}"
    if added_at[document_id] > request.received:
        return f"{request.kind}: {document_id!r} was cited before it was added"
    if deleted_at.get(document_id, math.inf) < request.sent:
        return f"{request.kind}: {document_id!r} was cited by a request sent after it was deleted"
    return None
