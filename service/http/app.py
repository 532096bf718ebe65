"""The FastAPI application: heavy things load once in the lifespan, routes live in service/http/routes/."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from index import FootnoteError
from service.answering import build_answerer, index_demo_corpus_if_empty, open_collection, preload_models
from service.http.auth import allowed_origins
from service.http.errors import install_error_handlers
from service.http.middleware import CorsMiddleware, RequestContextMiddleware
from service.http.routes import ask, chat, documents, health, widget
from service.http.state import AppState, Resources, ResourcesFactory
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def load_resources(settings: Settings) -> Resources:
    """Open the store (indexing the bundled articles into an empty one) and load the models."""
    collection = open_collection(settings)
    index_demo_corpus_if_empty(collection, settings)
    collection.embedder.embed_query("warm up")
    answerer = build_answerer(collection, settings)
    preload_models(answerer)
    return Resources(collection=collection, answerer=answerer)


def create_app(
    settings: Settings | None = None,
    *,
    resources_factory: ResourcesFactory = load_resources,
    load_in_background: bool = False,
) -> FastAPI:
    """A Footnote app; `resources_factory` lets tests serve fakes through the very same routes.

    With `load_in_background` (as `footnote serve` runs it) the server answers at once: /healthz is live while
    the models load and /readyz says 503 until they are. Otherwise start-up waits for them.
    """
    settings = settings or get_settings()
    state = AppState(settings=settings)

    async def load() -> None:
        try:
            state.resources = await run_in_threadpool(resources_factory, settings)
        except FootnoteError as error:
            state.load_error = error
            logger.error("not ready: %s", error)
            return
        logger.info("ready: %d documents", state.resources.collection.count_documents())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(load())
        if not load_in_background:
            await loading
        try:
            yield
        finally:
            if not loading.done():
                await loading  # a thread cannot be cancelled; let it finish, then close what it opened
            resources, state.resources = state.resources, None
            if resources is not None:
                resources.collection.close()

    app = FastAPI(
        title="Footnote",
        version="0.1.0",
        summary="Answers over your articles, every claim cited to an exact quote.",
        lifespan=lifespan,
    )
    app.state.footnote = state
    install_error_handlers(app)
    for module in (health, ask, chat, documents, widget):
        app.include_router(module.router)
    app.add_middleware(CorsMiddleware, origins=allowed_origins(settings))
    app.add_middleware(RequestContextMiddleware, metrics=state.metrics, body_limit_for=_body_limit(settings))
    return app


def _body_limit(settings: Settings) -> Callable[[str], int]:
    def limit(path: str) -> int:
        return settings.max_upload_bytes if path.rstrip("/") == "/v1/documents" else settings.max_body_bytes

    return limit
