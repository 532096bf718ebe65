"""Questions keep being answered, with correct citations, while documents are added and deleted through the API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from harness.concurrency import churn_question, churn_text, run_workload
from tests.service.api_support import make_app


def test_answers_cite_only_documents_that_existed_while_the_corpus_changes(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        result = run_workload(client, seconds=6, askers=3)
    assert result.server_errors == 0, result.statuses
    assert result.wrong_citations == 0, result.problems
    assert result.deleted > 3 and result.answers_with_citations > 3 and result.searches > 0


def test_a_churned_document_answers_its_own_question(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        client.post("/v1/documents", json={"id": "churn-7", "title": "Council 7", "text": churn_text(7)})
        answer = client.post("/v1/ask", json={"question": churn_question(7)}).json()
    assert {citation["document_id"] for citation in answer["citations"]} == {"churn-7"}
