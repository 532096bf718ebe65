"""The litellm adapter: provider failures become clear errors; the embedded model answers through litellm."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from service.answering.errors import LLMError, LLMTimeoutError
from service.answering.llm import LiteLLMChatModel, LLMSettings, import_litellm
from service.answering.local_llm import DEFAULT_LOCAL_MODEL, register_local_provider
from service.answering.model_files import QWEN_CODER_15B, verified_model_path

MESSAGES = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "What is the capital of France?"},
]


def test_an_unreachable_provider_is_a_clear_error() -> None:
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    model = LiteLLMChatModel(
        LLMSettings(
            model="openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1", api_key="test", retries=0, timeout_s=5
        )
    )
    with pytest.raises(LLMError, match="the language model failed"):
        model.complete(MESSAGES)
    with pytest.raises(LLMError):
        list(model.stream(MESSAGES))


def test_the_embedded_model_is_installed_whole_and_verified() -> None:
    path = verified_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size == QWEN_CODER_15B.size


@pytest.mark.slow
def test_embedded_model_through_litellm_completion_streaming_and_async() -> None:
    litellm = import_litellm()
    register_local_provider(threads=2)
    response = litellm.completion(model=DEFAULT_LOCAL_MODEL, messages=MESSAGES, max_tokens=24, temperature=0)
    text = response.choices[0].message.content
    assert isinstance(text, str) and text.strip()
    assert response.usage.completion_tokens > 0
    chunks = [
        c.choices[0].delta.content or ""
        for c in litellm.completion(model=DEFAULT_LOCAL_MODEL, messages=MESSAGES, max_tokens=24, stream=True)
    ]
    assert len(chunks) > 1 and "".join(chunks).strip()

    async def ask_async() -> str:
        reply = await litellm.acompletion(model=DEFAULT_LOCAL_MODEL, messages=MESSAGES, max_tokens=16)
        return str(reply.choices[0].message.content)

    assert asyncio.run(ask_async()).strip()
    chat = LiteLLMChatModel(LLMSettings(model=DEFAULT_LOCAL_MODEL, max_tokens=16))
    assert "".join(chat.stream(MESSAGES)).strip()
    reply = chat.complete(MESSAGES)
    assert reply.prompt_tokens > 10 and 0 < reply.completion_tokens <= 16


@pytest.mark.slow
def test_the_embedded_model_stops_at_its_time_out() -> None:
    # 64 tokens take well over a millisecond: the deadline passes after the first token at the latest.
    hurried = LiteLLMChatModel(LLMSettings(model=DEFAULT_LOCAL_MODEL, max_tokens=64, timeout_s=0.001, retries=0))
    with pytest.raises(LLMTimeoutError, match="did not answer in time"):
        hurried.complete(MESSAGES)
    with pytest.raises(LLMTimeoutError):
        "".join(hurried.stream(MESSAGES))


@pytest.mark.slow
def test_ask_end_to_end_with_the_embedded_models(tmp_path: Path) -> None:
    executable = shutil.which("footnote", path=str(Path(sys.executable).parent))
    assert executable is not None
    # A generous time-out: on a busy shared CI machine the small model can take minutes, and this test is about
    # the path, not the speed (bench/ measures that).
    environment = {**os.environ, "FOOTNOTE_HOME": str(tmp_path / "home"), "FOOTNOTE_LLM_TIMEOUT_S": "400"}

    def footnote(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [executable, *args], env=environment, capture_output=True, text=True, timeout=600, check=False
        )

    asked = footnote("ask", "why is Russia expanding its role?", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and answer["citations"]
    for citation in answer["citations"]:
        shown = footnote("docs", "show", citation["document_id"], "--json")
        text = json.loads(shown.stdout)["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['marker']}]" in answer["text"]
    refused = footnote("ask", "Who won the 2022 World Cup?", "--json")
    assert refused.returncode == 0, refused.stderr
    assert json.loads(refused.stdout)["abstained"] is True
    readable = footnote("ask", "What is the population of Kabul?")
    assert readable.returncode == 0 and readable.stdout.startswith("The articles do not answer this question.")


class FlakyOpenAIServer(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that fails its first call and answers the second."""

    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if type(self).calls == 1:
            self.send_response(503)
            self.send_header("retry-after-ms", "10")  # the OpenAI client honours it: no seconds of back-off
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "flaky",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_failed_call_is_retried() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyOpenAIServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        model = LiteLLMChatModel(LLMSettings(model="openai/flaky", api_base=base, api_key="k", retries=1, timeout_s=5))
        assert model.complete(MESSAGES).text == "Paris."
        assert FlakyOpenAIServer.calls == 2
    finally:
        server.shutdown()
        server.server_close()
