"""Start-up: models load once, in the background for `footnote serve`; a store that cannot load is reported,
never served."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from index import StoreCorruptError
from service.http.app import create_app
from service.http.state import Resources
from service.settings import Settings
from tests.service.api_support import CANONICAL, fake_factory, settings_for


def test_the_server_is_live_but_not_ready_while_loading_in_the_background(tmp_path: Path) -> None:
    loaded = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow_factory(settings: Settings) -> Resources:
        calls.append(1)
        release.wait(timeout=10)
        resources: Resources = fake_factory(None)(settings)
        loaded.set()
        return resources

    app = create_app(settings_for(tmp_path), resources_factory=slow_factory, load_in_background=True)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        loading = client.get("/readyz")
        assert loading.status_code == 503 and loading.json()["code"] == "loading"
        asked = client.post("/v1/ask", json={"question": CANONICAL})
        assert asked.status_code == 503 and asked.headers["retry-after"]
        release.set()
        assert loaded.wait(timeout=10)
        for _ in range(100):
            if client.get("/readyz").status_code == 200:
                break
            threading.Event().wait(0.05)
        assert client.get("/readyz").json()["status"] == "ready"
        assert client.post("/v1/ask", json={"question": CANONICAL}).status_code == 200
        client.post("/v1/ask", json={"question": CANONICAL})
    assert calls == [1], "models and index load once, not per request"


def test_a_store_that_cannot_load_is_reported_and_never_served(tmp_path: Path) -> None:
    def corrupt(settings: Settings) -> Resources:
        raise StoreCorruptError("store.db: 12 passages stored but 11 vectors indexed; run `footnote index rebuild`")

    with TestClient(create_app(settings_for(tmp_path), resources_factory=corrupt)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["code"] == "store_corrupt"
        assert "footnote index rebuild" in ready.json()["detail"]
        searched = client.get("/v1/search", params={"q": "drills"})
        assert searched.status_code == 503 and searched.json()["code"] == "store_corrupt"
        assert client.get("/healthz").status_code == 200
