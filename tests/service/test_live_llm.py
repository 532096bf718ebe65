"""The hosted-provider path end to end: `footnote ask` against the model FOOTNOTE_MODEL names, with the key in
FOOTNOTE_LLM_API_KEY (and FOOTNOTE_LLM_BASE_URL for an OpenAI-compatible host). Every other test answers with a
fake model or the embedded one; this is the only one that reaches a real provider, so it runs only when a
developer exports a key (the `live_llm` marker skips it otherwise, in CI too):

    FOOTNOTE_MODEL=gpt-4o-mini FOOTNOTE_LLM_API_KEY=sk-... python -m pytest -m live_llm
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index import Document

pytestmark = [pytest.mark.live_llm, pytest.mark.slow]

CANONICAL = "why is Russia expanding its role?"
PROVIDER_SETTINGS = ("FOOTNOTE_MODEL", "FOOTNOTE_LLM_API_KEY", "FOOTNOTE_LLM_BASE_URL")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_a_hosted_model_answers_with_quotes_that_are_in_the_articles(
    tmp_path: Path, bundled_documents: list[Document]
) -> None:
    model = os.environ.get("FOOTNOTE_MODEL")
    if not model or model.startswith("footnote/"):
        pytest.skip("FOOTNOTE_MODEL must name a hosted model (for example gpt-4o-mini)")
    # Only the provider's settings pass through: another FOOTNOTE_* (say FOOTNOTE_ANSWER_MODE) could skip the model.
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_") or k in PROVIDER_SETTINGS},
        "FOOTNOTE_HOME": str(tmp_path / "home"),
        "HF_HUB_OFFLINE": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "service.cli", "ask", CANONICAL, "--json"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["mode"] == "generated" and answer["model"] == model, answer
    assert not answer["abstained"] and answer["citations"], answer["text"]
    texts = {document.id: document.text for document in bundled_documents}
    for citation in answer["citations"]:
        assert texts[citation["document_id"]][citation["start"] : citation["end"]] == citation["quote"]
