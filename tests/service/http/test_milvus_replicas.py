"""Stateless replicas on the Milvus backend: a read-only replica answers searches and refuses document routes with
one clear 405; and, end to end, a real writer and a real replica (`footnote serve`, each its own process) share a
milvus-lite server, the replica seeing each acknowledged change at once without ever opening SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from harness.milvus_server import milvus_lite_server
from harness.server import footnote_server
from index import RetrievalSettings, Retriever, load_paths
from index.milvus_collection import MilvusCollection
from index.milvus_state import MilvusSettings
from index.store import DATABASE_NAME
from service.answering.pipeline import Answerer, AnsweringSettings
from service.answering.support import HeuristicSupportScorer
from service.http.app import create_app
from service.http.state import Resources
from service.settings import Settings
from tests.conftest import BUNDLED_CORPUS
from tests.fakes import FakeEmbedder
from tests.service.api_support import settings_for

HERON = {
    "id": "heron-colony",
    "title": "Herons return to Lake Vesi",
    "text": "The grey heron colony at Lake Vesi grew to 214 nests this spring, the largest count since 1961.",
}


@pytest.fixture
def replica_app(tmp_path: Path) -> Iterator[TestClient]:
    """A read-only replica app over a milvus-lite folder a writer filled with the bundled articles."""
    milvus = MilvusSettings(uri=str(tmp_path / "milvus.db"))
    writer = MilvusCollection(tmp_path / "writer", embedder=FakeEmbedder(), milvus=milvus)
    writer.ingest(load_paths([str(BUNDLED_CORPUS)]))

    def replica(settings: Settings) -> Resources:
        collection = MilvusCollection(settings.home, embedder=FakeEmbedder(), milvus=milvus, read_only=True)
        answerer = Answerer(
            retriever=Retriever(collection, RetrievalSettings()),
            scorer=HeuristicSupportScorer(collection.embedder),
            chat_model=None,
            settings=AnsweringSettings(mode="extractive"),
        )
        return Resources(collection=collection, answerer=answerer)

    settings = settings_for(tmp_path / "replica", index_backend="milvus", read_only=True, milvus_uri=milvus.uri)
    with TestClient(create_app(settings, resources_factory=replica)) as client:
        yield client
    writer.close()


def test_a_replica_searches_but_refuses_every_document_route(replica_app: TestClient, tmp_path: Path) -> None:
    found = replica_app.get("/v1/search", params={"q": "Zhirnov"})
    assert found.status_code == 200 and found.json()["passages"][0]["document_id"] == "russia-china-after-kabul-2021"
    assert replica_app.get("/readyz").json()["documents"] == 2
    for method, path, body in (
        ("POST", "/v1/documents", HERON),
        ("GET", "/v1/documents", None),
        ("GET", "/v1/documents/russia-china-after-kabul-2021", None),
        ("DELETE", "/v1/documents/russia-china-after-kabul-2021", None),
    ):
        refused = replica_app.request(method, path, json=body)
        assert refused.status_code == 405, (method, path)
        assert refused.json()["code"] == "read_only_replica" and "writer" in refused.json()["detail"]
    assert not (tmp_path / "replica" / DATABASE_NAME).exists()


def test_read_only_needs_the_milvus_backend_and_the_writers_milvus(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="FOOTNOTE_INDEX_BACKEND=milvus"):
        Settings(home=tmp_path, read_only=True)
    with pytest.raises(ValidationError, match="FOOTNOTE_MILVUS_URI"):
        Settings(home=tmp_path, read_only=True, index_backend="milvus")


@pytest.mark.slow
def test_a_real_writer_and_replica_share_one_milvus(tmp_path: Path) -> None:
    common = {
        "FOOTNOTE_INDEX_BACKEND": "milvus",
        "FOOTNOTE_ANSWER_MODE": "extractive",
        "FOOTNOTE_JUDGE_MODEL": "heuristic",
    }
    with milvus_lite_server(tmp_path / "milvus") as server:
        env = {**common, "FOOTNOTE_MILVUS_URI": server.uri}
        with (
            footnote_server(tmp_path / "writer", env) as writer,
            footnote_server(tmp_path / "replica", {**env, "FOOTNOTE_READ_ONLY": "true"}) as replica,
            httpx.Client(timeout=120) as client,
        ):
            added = client.post(f"{writer.url}/v1/documents", json=HERON)
            assert added.status_code == 201, added.text

            # Acknowledged by the writer, so any replica finds it (Strong consistency), and answers from it.
            asked = client.post(f"{replica.url}/v1/ask", json={"question": "How many heron nests were at Lake Vesi?"})
            assert asked.status_code == 200, asked.text
            answer: dict[str, Any] = asked.json()
            assert not answer["abstained"] and "214" in answer["text"]
            assert any(c["document_id"] == "heron-colony" for c in answer["citations"])

            refused = client.post(f"{replica.url}/v1/documents", json={**HERON, "id": "another"})
            assert refused.status_code == 405 and refused.json()["code"] == "read_only_replica"

            assert client.delete(f"{writer.url}/v1/documents/heron-colony").status_code == 204
            found = client.get(f"{replica.url}/v1/search", params={"q": "heron nests Lake Vesi", "k": 10}).json()
            assert all(p["document_id"] != "heron-colony" for p in found["passages"])
            ready = [client.get(f"{server.url}/readyz").json() for server in (writer, replica)]
            assert ready[0]["passages"] == ready[1]["passages"] > 0
    assert (tmp_path / "writer" / DATABASE_NAME).exists()
    assert not (tmp_path / "replica").exists() or not any((tmp_path / "replica").iterdir())
