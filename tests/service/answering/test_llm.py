"""The litellm adapter: provider failures become clear errors; the embedded model, and a hosted one given a key,
answer through litellm."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.fake_llm import FakeLLM
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
    register_local_provider()
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


CANONICAL = "why is Russia expanding its role?"
# What the hosted-provider test passes to `footnote`: any other FOOTNOTE_* (FOOTNOTE_ANSWER_MODE, say) could
# keep the model from being asked.
PROVIDER_SETTINGS = ("FOOTNOTE_MODEL", "FOOTNOTE_LLM_API_KEY", "FOOTNOTE_LLM_BASE_URL")


def footnote(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`footnote ARGS` in a real process: the installed console script, as a user runs it."""
    executable = shutil.which("footnote", path=str(Path(sys.executable).parent))
    assert executable is not None
    return subprocess.run([executable, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def ask_with_verbatim_quotes(env: dict[str, str]) -> dict[str, Any]:
    """The answer of `footnote ask --json` to the canonical question, once each quote is found at its offsets."""
    asked = footnote("ask", CANONICAL, "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    answer: dict[str, Any] = json.loads(asked.stdout)
    assert not answer["abstained"] and answer["citations"], answer["text"]
    # One `docs show` per cited article, not per citation: each is a new process.
    texts = {
        document: json.loads(footnote("docs", "show", document, "--json", env=env).stdout)["text"]
        for document in {citation["document_id"] for citation in answer["citations"]}
    }
    for citation in answer["citations"]:
        assert texts[citation["document_id"]][citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['marker']}]" in answer["text"]
    return answer


@pytest.mark.slow
def test_ask_end_to_end_with_the_embedded_models(tmp_path: Path) -> None:
    # A generous time-out: on a busy shared CI machine the small model can take minutes, and this test is about
    # the path, not the speed (bench/ measures that).
    environment = {**os.environ, "FOOTNOTE_HOME": str(tmp_path / "home"), "FOOTNOTE_LLM_TIMEOUT_S": "400"}
    ask_with_verbatim_quotes(environment)
    refused = footnote("ask", "What is the population of Kabul?", env=environment)
    assert refused.returncode == 0 and refused.stdout.startswith("The articles do not answer this question.")


@pytest.mark.slow
@pytest.mark.live_llm
def test_ask_end_to_end_with_a_hosted_model(tmp_path: Path) -> None:
    """The only test that reaches a real provider: it runs when FOOTNOTE_LLM_API_KEY and FOOTNOTE_MODEL are set
    (`FOOTNOTE_MODEL=gpt-4o-mini FOOTNOTE_LLM_API_KEY=sk-... pytest -m live_llm`), and is skipped otherwise."""
    model = os.environ.get("FOOTNOTE_MODEL")
    if not model or model.startswith("footnote/"):
        pytest.skip("FOOTNOTE_MODEL must name a hosted model (for example gpt-4o-mini)")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_") or k in PROVIDER_SETTINGS}
    answer = ask_with_verbatim_quotes({**environment, "FOOTNOTE_HOME": str(tmp_path / "home")})
    assert answer["mode"] == "generated" and answer["model"] == model


def test_a_failed_call_is_retried() -> None:
    with FakeLLM("Paris.", failures=1) as provider:
        model = LiteLLMChatModel(
            LLMSettings(model="openai/flaky", api_base=provider.url, api_key="k", retries=1, timeout_s=5)
        )
        assert model.complete(MESSAGES).text == "Paris."
        assert len(provider.requests) == 2
