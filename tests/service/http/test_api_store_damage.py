"""A damaged store on disk is never served: the app stays up, unready, and says why on every request."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from index import Collection, Document
from index.store import DATABASE_NAME
from tests.fakes import FakeEmbedder
from tests.service.api_support import make_app


def test_a_damaged_store_answers_503_store_corrupt(tmp_path: Path, bundled_documents: list[Document]) -> None:
    collection = Collection(tmp_path, embedder=FakeEmbedder())
    collection.ingest(bundled_documents)
    collection.close()
    database = tmp_path / DATABASE_NAME
    data = bytearray(database.read_bytes())
    data[data.index(b"Zhirnov") + 3] ^= 0x02
    database.write_bytes(bytes(data))
    with TestClient(make_app(tmp_path)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["code"] == "store_corrupt"
        assert "footnote index rebuild" in ready.json()["detail"]
        asked = client.post("/v1/ask", json={"question": "what did Zhirnov say?"})
        assert asked.status_code == 503 and asked.json()["code"] == "store_corrupt"
        assert client.get("/v1/search", params={"q": "Zhirnov"}).json()["code"] == "store_corrupt"
