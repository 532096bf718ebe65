"""Liveness, readiness and Prometheus metrics: outside /v1 and without keys, as probes and scrapers expect."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.http.models.api import HealthOut, ReadyOut
from service.http.routes.deps import StateDep, not_ready

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    """The process is up (it may still be loading)."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"description": "Still loading."}})
def readyz(state: StateDep) -> ReadyOut:
    """Models and index are loaded: 200 once the service can answer, 503 before."""
    if state.resources is None:
        raise not_ready(state)
    collection = state.resources.collection
    return ReadyOut(
        status="ready",
        documents=collection.count_documents(),
        passages=collection.count_passages(),
        model=state.resources.answerer.chat_model.name if state.resources.answerer.chat_model else "extractive",
        answer_mode=state.settings.answer_mode,
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(state: StateDep) -> Response:
    """Request counts and latencies by route, answers by mode, verification drops and tokens."""
    state.metrics.generations_running.set(state.slots.running)
    return Response(state.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
