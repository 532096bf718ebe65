"""End to end over real HTTP: a real `footnote serve` with the real embedding model (and, once, the embedded
language model), driven by httpx and by the OpenAI client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from harness.server import RunningServer, footnote_server
from tests.service.api_support import sse_events

pytestmark = pytest.mark.slow

ADMIN_KEY = "e2e-admin-key"
SITE_KEY = "e2e-site-key"
SITE_ORIGIN = "https://blog.example"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SITE = {"Authorization": f"Bearer {SITE_KEY}", "Origin": SITE_ORIGIN}
HERON = {
    "id": "heron-colony",
    "title": "Herons return to Lake Vesi",
    "date": "2025-04-02",
    "text": (
        "The grey heron colony at Lake Vesi grew to 214 nests this spring, the largest count since records began "
        "in 1961. Warden Aino Laine said the herons returned in early March, two weeks earlier than usual.\n\n"
        "The colony nests in tall alders on the north shore, which the council protected in 2019."
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        "FOOTNOTE_ADMIN_KEY": ADMIN_KEY,
        "FOOTNOTE_SITE_KEYS": json.dumps({SITE_KEY: [SITE_ORIGIN]}),
        "FOOTNOTE_ANSWER_MODE": "extractive",
        # The heuristic picks the quotes here: these tests are about HTTP, and the model judge (seconds a question,
        # minutes on a busy machine) has its own real-server test below.
        "FOOTNOTE_JUDGE_MODEL": "heuristic",
        # Low, so that the burst below is limited however slowly a busy machine sends it.
        "FOOTNOTE_RATE_LIMIT_PER_MINUTE": "5",
    }
    with footnote_server(tmp_path_factory.mktemp("e2e") / "home", env) as running:
        yield running


def test_ingest_ask_stream_and_delete_over_real_http(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        added = client.post("/v1/documents", json=HERON, headers=ADMIN)
        assert added.status_code == 201 and added.json()["documents"][0]["status"] == "added"

        asked = client.post("/v1/ask", json={"question": "How many heron nests were at Lake Vesi?"}, headers=ADMIN)
        assert asked.status_code == 200 and asked.headers["x-request-id"]
        answer = asked.json()
        assert not answer["abstained"] and "214" in answer["text"]
        stored = client.get("/v1/documents/heron-colony", headers=ADMIN).json()["text"]
        cited = [c for c in answer["citations"] if c["document_id"] == "heron-colony"]
        assert cited and all(stored[c["start"] : c["end"]] == c["quote"] for c in cited)

        streamed = client.post(
            "/v1/ask", json={"question": "When did the herons return?", "stream": True}, headers=SITE
        )
        events = sse_events(streamed.text)
        assert [name for name, _ in events][0] == "passages" and events[-1][0] == "done"
        final = json.loads(next(data for name, data in events if name == "answer"))
        assert "March" in final["text"] and final["citations"][0]["document_id"] == "heron-colony"
        assert streamed.headers["access-control-allow-origin"] == SITE_ORIGIN

        assert client.delete("/v1/documents/heron-colony", headers=ADMIN).status_code == 204
        assert client.get("/v1/documents/heron-colony", headers=ADMIN).status_code == 404
        found = client.get("/v1/search", params={"q": "heron nests Lake Vesi"}, headers=ADMIN).json()["passages"]
        assert all(p["document_id"] != "heron-colony" for p in found)


def test_writes_are_refused_without_the_admin_key(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        anonymous = client.post("/v1/documents", json=HERON)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "missing_key"
        site = client.post("/v1/documents", json=HERON, headers=SITE)
        assert site.status_code == 403 and site.json()["code"] == "forbidden"
        upload = client.post(
            "/v1/documents", files={"file": ("h.md", b"# H\n\nHerons.", "text/markdown")}, headers=SITE
        )
        assert upload.status_code == 403
        assert client.get("/v1/documents/heron-colony", headers=ADMIN).status_code == 404


def test_a_site_key_is_rate_limited(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        statuses = [client.get("/v1/search", params={"q": "drills"}, headers=SITE).status_code for _ in range(10)]
        assert 429 in statuses and set(statuses) <= {200, 429}
        limited = client.get("/v1/search", params={"q": "drills"}, headers=SITE)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert client.get("/v1/search", params={"q": "drills"}, headers=ADMIN).status_code == 200


def test_the_openai_client_gets_a_cited_answer(server: RunningServer) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=ADMIN_KEY, max_retries=0)
    completion = client.chat.completions.create(
        model="footnote", messages=[{"role": "user", "content": "When and where did Russia carry out drills?"}]
    )
    message = completion.choices[0].message
    assert message.content is not None and re.search(r"\[\d+\]", message.content)
    citations = (message.model_extra or {})["citations"]
    assert citations and all(c["quote"] in message.content for c in citations)

    chunks = list(
        client.chat.completions.create(
            model="footnote", stream=True, messages=[{"role": "user", "content": "Where did Russia hold drills?"}]
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert re.search(r"\[\d+\]", text) and chunks[-1].choices[0].finish_reason == "stop"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0).chat.completions.create(
            model="footnote", messages=[{"role": "user", "content": "Hi?"}]
        )


def test_the_embedded_model_streams_a_verified_answer(tmp_path: Path) -> None:
    # A generous LLM time-out: on a busy CI machine the small model can take minutes; bench/ measures speed.
    slow_machine = {"FOOTNOTE_LLM_TIMEOUT_S": "400"}
    with (
        footnote_server(tmp_path / "home", slow_machine) as server,
        httpx.Client(base_url=server.url, timeout=450) as client,
    ):
        response = client.post("/v1/ask", json={"question": "why is Russia expanding its role?", "stream": True})
        events = sse_events(response.text)
        names = [name for name, _ in events]
        assert names[0] == "passages" and names[-2:] == ["answer", "done"]
        assert names.count("delta") > 3, "the embedded model's draft arrives token by token"
        # The judge took the article's own list of reasons for an answer: it is sent, verified, before the draft.
        assert "quotes" in names and names.index("quotes") < names.index("delta")
        quoted = json.loads(events[names.index("quotes")][1])
        final = json.loads(events[-2][1])
        assert final["model"] in ("footnote/qwen2.5-coder-1.5b", "extractive") and not final["abstained"]
        cited = quoted["citations"] + final["citations"]
        document_texts = {
            c["document_id"]: client.get(f"/v1/documents/{c['document_id']}").json()["text"] for c in cited
        }
        assert all(document_texts[c["document_id"]][c["start"] : c["end"]] == c["quote"] for c in cited)
        assert quoted["timings"]["first_sentence_ms"] == final["timings"]["first_sentence_ms"]
        assert final["timings"]["first_sentence_ms"] < final["timings"]["total_ms"]
        metrics = client.get("/metrics").text
        assert re.search(r'footnote_llm_tokens_total\{kind="completion"\} [1-9]', metrics)
