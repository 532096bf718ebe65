"""Request dependencies as `Annotated` aliases: the app state, the caller (authenticated and rate limited), the
collection and the answering pipeline. Tests swap them with `app.dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from index import Collection
from service.answering import Answerer
from service.http.auth import Principal, authenticate, client_address, require_admin_or_local
from service.http.errors import ApiError
from service.http.limits import retry_after_header
from service.http.state import AppState, Resources


def get_state(request: Request) -> AppState:
    """The app's state."""
    state: AppState = request.app.state.footnote
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_resources(state: StateDep) -> Resources:
    """The loaded collection and pipeline; 503 while the service is still loading."""
    if state.resources is None:
        raise not_ready(state)
    return state.resources


def not_ready(state: AppState) -> ApiError:
    """The 503 for a service that is still loading, or that could not load (a corrupt store, say)."""
    if state.load_error is not None:
        return ApiError(503, state.load_error.code, f"Footnote could not load: {state.load_error}")
    return ApiError(503, "loading", "Footnote is still loading its models and index", headers={"Retry-After": "5"})


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def get_collection(resources: ResourcesDep) -> Collection:
    """The document collection."""
    return resources.collection


def get_answerer(resources: ResourcesDep) -> Answerer:
    """The answering pipeline."""
    return resources.answerer


CollectionDep = Annotated[Collection, Depends(get_collection)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]


def get_caller(request: Request, state: StateDep) -> Principal:
    """The authenticated caller, within its rate limits (the admin key has none)."""
    principal = authenticate(request, state.settings)
    if principal.role == "admin":
        return principal
    for limiter, name in ((state.key_limiter, principal.name), (state.address_limiter, client_address(request))):
        wait = limiter.acquire(name)
        if wait is not None:
            state.metrics.rejected.labels(reason="rate_limit").inc()
            raise ApiError(
                429, "rate_limited", "too many requests: slow down and retry later", headers=retry_after_header(wait)
            )
    return principal


CallerDep = Annotated[Principal, Depends(get_caller)]


def get_manager(request: Request, caller: CallerDep) -> Principal:
    """A caller allowed to read stored documents and change the corpus."""
    require_admin_or_local(caller, request)
    return caller


ManagerDep = Annotated[Principal, Depends(get_manager)]


def require_writer(state: StateDep) -> None:
    """Document routes belong to the writer: a read-only replica (FOOTNOTE_READ_ONLY) refuses them with 405."""
    if state.settings.read_only:
        raise ApiError(
            405,
            "read_only_replica",
            "this replica only searches and answers: send /v1/documents requests to the writer",
            headers={"Allow": ""},
        )
