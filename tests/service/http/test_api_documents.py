"""The documents API: add as JSON or as an uploaded file, list a page at a time, read, delete."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from index.embedding import Vectors
from tests.fakes import FakeEmbedder
from tests.service.api_support import make_app

ZEBRA = "---\ntitle: Zebra council\ndate: 2024-05-03\n---\nThe zebra council met in Nairobi on 3 May 2024.\n"


def test_a_json_document_is_stored_searchable_and_readable(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        added = client.post("/v1/documents", json={"title": "Owl Note: Oslo!", "text": "  Owls in Oslo voted.  "})
        assert added.status_code == 201
        assert added.json() == {"documents": [{"document_id": "owl-note-oslo", "status": "added", "passages": 1}]}
        document = client.get("/v1/documents/owl-note-oslo").json()
        assert document["text"] == "Owls in Oslo voted." and document["title"] == "Owl Note: Oslo!"
        found = client.get("/v1/search", params={"q": "owls oslo", "k": 1}).json()["passages"]
        assert found[0]["document_id"] == "owl-note-oslo"
        again = client.post("/v1/documents", json={"title": "Owl Note: Oslo!", "text": "Owls in Oslo voted."})
        assert again.json()["documents"][0]["status"] == "unchanged"


def test_uploads_in_the_loaders_formats(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        markdown = client.post("/v1/documents", files={"file": ("zebra.md", ZEBRA.encode(), "text/markdown")})
        assert markdown.status_code == 201 and markdown.json()["documents"][0]["document_id"] == "zebra"
        stored = client.get("/v1/documents/zebra").json()
        assert stored["date"] == "2024-05-03" and stored["text"] == "The zebra council met in Nairobi on 3 May 2024."
        html = b"<html><head><title>Heron</title></head><body><article><p>Herons nest in tall reeds near the river"
        html += b" every spring, returning to the same colony.</p></article></body></html>"
        assert client.post("/v1/documents", files={"file": ("heron.html", html, "text/html")}).status_code == 201
        assert "Herons nest" in client.get("/v1/documents/heron").json()["text"]


def test_bad_documents_get_4xx_and_nothing_stored_is_lost(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        before = client.get("/v1/documents").json()["total"]
        cases = [
            client.post("/v1/documents", files={"file": ("virus.exe", b"MZ\x00\x00", "application/octet-stream")}),
            client.post("/v1/documents", files={"file": ("latin1.txt", "caf\xe9".encode("latin-1"), "text/plain")}),
            client.post("/v1/documents", files={"file": ("broken.pdf", b"%PDF-1.4 garbage", "application/pdf")}),
            client.post("/v1/documents", files={"file": ("empty.md", b"   ", "text/markdown")}),
            client.post("/v1/documents", files={"other": ("x.md", b"hello", "text/markdown")}),
            client.post("/v1/documents", json={"title": "No text", "text": "   "}),
            client.post("/v1/documents", json={"title": "Bad id", "text": "x", "id": "../../etc/passwd"}),
            client.post("/v1/documents", json={"title": "Extra", "text": "x", "author": "me"}),
            client.post("/v1/documents", json={"title": 1984, "text": "A number is not a title."}),
            client.post("/v1/documents", content=b"\xff\xfe", headers={"content-type": "application/json"}),
            client.post("/v1/documents", content=b"hello", headers={"content-type": "text/plain"}),
        ]
        for response in cases:
            assert 400 <= response.status_code < 500, response.text
            assert set(response.json()) == {"detail", "code"}
        assert cases[0].json()["code"] == "invalid_document" and "unsupported file type" in cases[0].json()["detail"]
        assert "UTF-8" in cases[1].json()["detail"]
        assert cases[-1].status_code == 415
        assert client.get("/v1/documents").json()["total"] == before


def test_listing_is_paginated_and_ordered_by_id(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        for name in ("a", "b", "c"):
            client.post("/v1/documents", json={"id": f"doc-{name}", "title": name, "text": f"Text {name}."})
        first = client.get("/v1/documents", params={"limit": 2}).json()
        second = client.get("/v1/documents", params={"limit": 2, "offset": 2}).json()
        assert first["total"] == second["total"] == 5
        ids = [item["id"] for item in first["items"] + second["items"]]
        assert ids == sorted(ids) and ids[:3] == ["doc-a", "doc-b", "doc-c"]
        assert client.get("/v1/documents", params={"limit": 0}).status_code == 422


def test_a_deleted_document_is_gone_from_reads_and_search(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        client.post("/v1/documents", json={"id": "owl", "title": "Owl", "text": "Owls in Oslo voted for a curfew."})
        assert client.delete("/v1/documents/owl").status_code == 204
        missing = client.get("/v1/documents/owl")
        assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"
        assert client.delete("/v1/documents/owl").status_code == 404
        passages = client.get("/v1/search", params={"q": "owls oslo curfew"}).json()["passages"]
        assert all(p["document_id"] != "owl" for p in passages)


class GatedEmbedder(FakeEmbedder):
    """Holds the embedding of any text mentioning owls until the gate opens, to stop an ingest mid-way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def embed_passages(self, texts: list[str]) -> Vectors:
        if any("owls" in text for text in texts):
            self.gate.wait(timeout=10)
        return super().embed_passages(texts)


def test_questions_are_answered_while_a_document_is_being_ingested(tmp_path: Path) -> None:
    embedder = GatedEmbedder()
    with TestClient(make_app(tmp_path, embedder=embedder)) as client:
        results: list[int] = []
        late = {"id": "late", "title": "Late", "text": "Late news about owls."}
        ingest = threading.Thread(target=lambda: results.append(client.post("/v1/documents", json=late).status_code))
        ingest.start()
        try:
            answered = client.post("/v1/ask", json={"question": "why is Russia expanding its role?"})
            assert answered.status_code == 200
            assert ingest.is_alive(), "the question was answered while the ingest was still embedding"
            assert client.get("/v1/documents/late").status_code == 404, "not visible before it is stored whole"
        finally:
            embedder.gate.set()
            ingest.join(timeout=10)
        assert results == [201], results
        assert client.get("/v1/documents/late").status_code == 200
