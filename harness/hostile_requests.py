"""Hostile requests at the HTTP API (OWASP LLM05, LLM10): oversized, deeply nested, malformed and non-UTF-8
bodies, non-UTF-8 query strings and paths, wrong content types, huge headers and odd methods. Every one must get
a 4xx, never a 5xx or a 2xx, and those the app answers must carry the JSON error shape {detail, code}.

Requests are written as raw bytes on a socket, so nothing (not even an HTTP client library) cleans them up on
the way. bench/hostile_requests.py sends them to a real `footnote serve` on loopback; the test suite sends the
same probes to an in-process server on fake models (tests/service/http/test_api_hostile.py).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# The limits the probing server runs with (the bench sets them; the tests' app uses the same).
MAX_BODY_BYTES = 1_000_000
MAX_UPLOAD_BYTES = 2_000_000


@dataclass(frozen=True)
class Probe:
    """One hostile request. `app_level` is False for what the HTTP server itself may refuse before the app runs
    (raw non-ASCII bytes in the request line, header blocks over its buffer): those need a 4xx, not Footnote's
    JSON shape. A UTF-8 byte order mark, NUL characters and an over-large max_tokens (lowered to the cap) are
    accepted by design, so they are not probes."""

    category: str
    name: str
    build: Callable[[str], bytes]
    app_level: bool = True


@dataclass(frozen=True)
class ProbeResult:
    """What the server answered to one probe."""

    category: str
    name: str
    status: int | None
    json_shape: bool
    passed: bool
    note: str


def _request(
    method: str, target: str, *, body: bytes = b"", headers: Sequence[tuple[str, str]] = (), chunked: bool = False
) -> Callable[[str], bytes]:
    def build(host: str) -> bytes:
        lines = [f"{method} ".encode() + target.encode("latin-1") + b" HTTP/1.1", f"Host: {host}".encode()]
        lines += [name.encode("latin-1") + b": " + value.encode("latin-1") for name, value in headers]
        lines.append(b"Connection: close")
        if chunked:
            lines.append(b"Transfer-Encoding: chunked")
            step = 64 * 1024
            payload = b"".join(
                f"{len(body[i : i + step]):x}\r\n".encode() + body[i : i + step] + b"\r\n"
                for i in range(0, len(body), step)
            )
            payload += b"0\r\n\r\n"
        else:
            declared = any(name.lower() == "content-length" for name, _ in headers)
            if (method in {"POST", "PUT", "PATCH"} or body) and not declared:
                lines.append(f"Content-Length: {len(body)}".encode())
            payload = body
        return b"\r\n".join(lines) + b"\r\n\r\n" + payload

    return build


def _raw(data: bytes) -> Callable[[str], bytes]:
    return lambda host: data.replace(b"{host}", host.encode())


JSON = ("Content-Type", "application/json")


def _json_post(
    path: str, body: bytes | str, *, content_type: str | None = "application/json"
) -> Callable[[str], bytes]:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    headers = [("Content-Type", content_type)] if content_type is not None else []
    return _request("POST", path, body=raw, headers=headers)


def _nested(depth: int, *, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def _nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _multipart(filename: str, content: bytes, *, field: str = "file") -> tuple[bytes, str]:
    boundary = "footnote-hostile-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def probes() -> list[Probe]:
    """Every hostile request, by category."""
    big_question = json.dumps({"question": "x" * (MAX_BODY_BYTES + 10)})
    upload, upload_type = _multipart("big.txt", b"word " * (MAX_UPLOAD_BYTES // 5 + 1000))
    binary, binary_type = _multipart("notes.txt", b"caf\xe9 \xff\xfe not utf-8 at all")
    bad_field, bad_field_type = _multipart("notes.txt", b"hello", field="\xff")
    return [
        # --- oversized ---
        Probe("oversized", "body over the limit", _json_post("/v1/ask", big_question)),
        Probe(
            "oversized",
            "chunked body over the limit",
            _request("POST", "/v1/ask", body=big_question.encode(), headers=[JSON], chunked=True),
        ),
        Probe(
            "oversized",
            "declared length far over the limit",
            _request("POST", "/v1/ask", headers=[JSON, ("Content-Length", "99999999999")]),
        ),
        Probe("oversized", "upload over the limit", _json_post("/v1/documents", upload, content_type=upload_type)),
        Probe("oversized", "question of 5000 characters", _json_post("/v1/ask", json.dumps({"question": "y" * 5000}))),
        Probe(
            "oversized",
            "1000 turns of history",
            _json_post(
                "/v1/ask",
                json.dumps({"question": "why?", "history": [{"role": "user", "content": "and?"}] * 1000}),
            ),
        ),
        Probe("oversized", "search query of 3000 characters", _request("GET", "/v1/search?q=" + "z" * 3000)),
        Probe("oversized", "k of 10^30", _request("GET", "/v1/search?q=drills&k=" + "1" + "0" * 30)),
        Probe(
            "oversized",
            "k of 10^30 in a question",
            _json_post("/v1/ask", '{"question": "why?", "k": 1' + "0" * 30 + "}"),
        ),
        # --- deeply nested ---
        Probe(
            "nested",
            "question nested 100000 arrays deep",
            _json_post("/v1/ask", '{"question": ' + _nested(100_000) + "}"),
        ),
        Probe("nested", "top-level array 200000 deep", _json_post("/v1/ask", _nested(200_000))),
        Probe("nested", "objects nested 50000 deep", _json_post("/v1/ask", _nested_objects(50_000))),
        Probe(
            "nested",
            "history content nested 20000 deep",
            _json_post(
                "/v1/ask",
                '{"question": "why?", "history": [{"role": "user", "content": ' + _nested_objects(20_000) + "}]}",
            ),
        ),
        Probe(
            "nested",
            "chat messages nested 100000 deep",
            _json_post("/v1/chat/completions", '{"model": "footnote", "messages": ' + _nested(100_000) + "}"),
        ),
        Probe(
            "nested",
            "document nested 100000 deep",
            _json_post("/v1/documents", '{"title": "t", "text": ' + _nested(100_000) + "}"),
        ),
        # --- malformed JSON ---
        Probe("malformed", "truncated", _json_post("/v1/ask", '{"question": "why')),
        Probe("malformed", "trailing garbage", _json_post("/v1/ask", '{"question": "why?"} trailing')),
        Probe("malformed", "NaN", _json_post("/v1/ask", '{"question": NaN}')),
        Probe("malformed", "k Infinity", _json_post("/v1/ask", '{"question": "why?", "k": Infinity}')),
        Probe("malformed", "single quotes", _json_post("/v1/ask", "{'question': 'why?'}")),
        Probe("malformed", "empty body", _json_post("/v1/ask", "")),
        Probe("malformed", "null", _json_post("/v1/ask", "null")),
        Probe("malformed", "a list", _json_post("/v1/ask", '["why?"]')),
        Probe("malformed", "a bare string", _json_post("/v1/ask", '"why?"')),
        Probe("malformed", "lone surrogate in question", _json_post("/v1/ask", '{"question": "why \\ud800 now?"}')),
        Probe("malformed", "lone surrogate in search", _request("GET", "/v1/search?q=%ED%A0%80")),
        Probe(
            "malformed",
            "lone surrogate in document",
            _json_post("/v1/documents", '{"title": "t\\udfff", "text": "Owls \\ud800 vote."}'),
        ),
        Probe(
            "malformed",
            "lone surrogate in chat",
            _json_post(
                "/v1/chat/completions", '{"model": "footnote", "messages": [{"role": "user", "content": "hi \\udc00"}]}'
            ),
        ),
        Probe("malformed", "question is a number", _json_post("/v1/ask", '{"question": 42}')),
        Probe("malformed", "unknown field", _json_post("/v1/ask", '{"question": "why?", "admin": true}')),
        Probe(
            "malformed",
            "broken multipart",
            _json_post("/v1/documents", b"--x\r\nnot a part", content_type="multipart/form-data; boundary=x"),
        ),
        Probe(
            "malformed",
            "multipart without boundary",
            _json_post("/v1/documents", b"abc", content_type="multipart/form-data"),
        ),
        # --- not UTF-8 ---
        Probe("non_utf8", "body bytes", _json_post("/v1/ask", b'{"question": "caf\xe9 \xff?"}')),
        Probe("non_utf8", "UTF-16 body", _json_post("/v1/ask", '{"question": "why?"}'.encode("utf-16"))),
        Probe("non_utf8", "query string %ff", _request("GET", "/v1/search?q=%ff")),
        Probe("non_utf8", "query string raw byte", _request("GET", "/v1/search?q=caf\xe9"), app_level=False),
        Probe("non_utf8", "query key %ff", _request("GET", "/v1/search?q=drills&%ff=1")),
        Probe("non_utf8", "path %ff", _request("GET", "/v1/documents/%ff")),
        Probe("non_utf8", "path raw byte", _request("GET", "/v1/documents/caf\xe9"), app_level=False),
        Probe("non_utf8", "upload not UTF-8", _json_post("/v1/documents", binary, content_type=binary_type)),
        Probe("non_utf8", "multipart field name", _json_post("/v1/documents", bad_field, content_type=bad_field_type)),
        Probe(
            "non_utf8",
            "Authorization bytes",
            _request("GET", "/v1/search?q=drills", headers=[("Authorization", "Bearer \xff\xfe")]),
        ),
        # --- wrong content types ---
        Probe("content_type", "text/plain", _json_post("/v1/ask", '{"question": "why?"}', content_type="text/plain")),
        Probe(
            "content_type",
            "form-urlencoded",
            _json_post("/v1/ask", "question=why", content_type="application/x-www-form-urlencoded"),
        ),
        Probe(
            "content_type", "XML", _json_post("/v1/ask", "<question>why?</question>", content_type="application/xml")
        ),
        Probe("content_type", "multipart to ask", _json_post("/v1/ask", upload[:2000], content_type=upload_type)),
        Probe(
            "content_type",
            "text/plain to chat",
            _json_post("/v1/chat/completions", '{"model":"footnote","messages":[]}', content_type="text/plain"),
        ),
        Probe("content_type", "text/plain document", _json_post("/v1/documents", "hello", content_type="text/plain")),
        Probe(
            "content_type",
            "garbage content type",
            _json_post("/v1/ask", '{"question": "why?"}', content_type=";;;\xff"),
        ),
        # --- huge headers ---
        Probe(
            "headers",
            "one 100 KB header",
            _request("GET", "/v1/search?q=drills", headers=[("X-Big", "a" * 100_000)]),
            app_level=False,
        ),
        Probe(
            "headers",
            "2000 headers",
            _request("GET", "/v1/search?q=drills", headers=[(f"X-H{i}", "v" * 20) for i in range(2000)]),
            app_level=False,
        ),
        Probe(
            "headers",
            "8 KB Authorization",
            _request("GET", "/v1/search?q=drills", headers=[("Authorization", "Bearer " + "k" * 8000)]),
        ),
        Probe(
            "headers",
            "Basic Authorization",
            _request("GET", "/v1/search?q=drills", headers=[("Authorization", "Basic Zm9vOmJhcg==")]),
        ),
        Probe(
            "headers",
            "8 KB Origin on a write",
            _request(
                "POST",
                "/v1/documents",
                body=b'{"title": "t", "text": "x"}',
                headers=[JSON, ("Origin", "https://" + "o" * 8000)],
            ),
        ),
        # --- methods, paths and parameters ---
        Probe("request", "PUT on ask", _request("PUT", "/v1/ask", body=b"{}", headers=[JSON])),
        Probe("request", "TRACE", _request("TRACE", "/v1/search?q=drills")),
        Probe("request", "path traversal", _request("GET", "/v1/documents/..%2F..%2Fetc%2Fpasswd")),
        Probe("request", "unknown route", _request("GET", "/v1/admin")),
        Probe("request", "negative k", _request("GET", "/v1/search?q=drills&k=-1")),
        Probe("request", "k not a number", _request("GET", "/v1/search?q=drills&k=abc")),
        Probe("request", "blank query", _request("GET", "/v1/search?q=%20%20")),
        Probe("request", "document id with a NUL", _request("GET", "/v1/documents/a%00b")),
        Probe("request", "offset of -5", _request("GET", "/v1/documents?offset=-5")),
        Probe("request", "limit of 10^9", _request("GET", "/v1/documents?limit=1000000000")),
    ]


def send(host: str, port: int, data: bytes, *, timeout: float = 60.0) -> tuple[int | None, bytes]:
    """Write the bytes (in a thread, as the server may answer before reading them all) and read the response."""
    with socket.create_connection((host, port), timeout=timeout) as sock:

        def write() -> None:
            try:
                sock.sendall(data)
            except OSError:
                pass  # the server answered early and closed: the answer is what counts

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        chunks: list[bytes] = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            pass  # a reset after the response was sent still leaves the response
        writer.join(timeout=timeout)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) >= 2 and status_line[1].isdigit() else None
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return status, body


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, body = out + rest[:size], rest[size + 2 :]
    return out


def _json_shape(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("detail"), str) and isinstance(parsed.get("code"), str)


def run_probes(host: str, port: int, selected: Sequence[Probe] | None = None) -> list[ProbeResult]:
    """Send every probe to a server and judge its answer."""
    results = []
    for probe in selected if selected is not None else probes():
        status, body = send(host, port, probe.build(f"{host}:{port}"))
        shaped = _json_shape(body)
        is_4xx = status is not None and 400 <= status < 500
        passed = is_4xx and (shaped or not probe.app_level)
        note = "" if passed else body[:200].decode("utf-8", "replace")
        results.append(ProbeResult(probe.category, probe.name, status, shaped, passed, note))
    return results
