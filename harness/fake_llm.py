"""An OpenAI-compatible chat endpoint on loopback, for tests and checks that need a model's reply without a model,
and the small threaded loopback server it (and the widget's host pages) run on."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Self


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing and sends whole bodies."""

    def send_body(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Send a complete response with its length."""
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackServer:
    """An HTTP server on a free loopback port (`origin`), answering from a thread inside a `with` block."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeLLM(LoopbackServer):
    """Replies with `reply` (streamed in small pieces when asked to stream) at `url`; the first `failures` calls
    get a 503 instead. Every request body is kept in `requests`."""

    def __init__(self, reply: str, *, failures: int = 0) -> None:
        self.reply = reply
        self.failures = failures
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                fake.requests.append(body)
                if len(fake.requests) <= fake.failures:
                    # The OpenAI client honours retry-after-ms: a retry without seconds of back-off.
                    self.send_body(503, "application/json", b"", {"retry-after-ms": "10"})
                elif body.get("stream"):
                    self._stream(fake.reply)
                else:
                    self.send_body(200, "application/json", json.dumps(_completion(fake.reply)).encode())

            def _stream(self, text: str) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + 24] for i in range(0, len(text), 24)] or [""]
                for index, piece in enumerate(pieces):
                    last = index == len(pieces) - 1
                    chunk = {
                        "id": "fake",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "fake",
                        "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": "stop" if last else None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        super().__init__(Handler)
        self.url = f"{self.origin}/v1"


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
