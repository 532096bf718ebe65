"""schemathesis over the whole OpenAPI schema with its default checks: no 5xx, every response as documented."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.service.api_support import fake_factory, make_app

# Enough to reach every operation with valid and invalid input while CI stays fast; the reliability bench
# runs many more.
EXAMPLES_PER_OPERATION = 25


def _app_on_fakes() -> FastAPI:
    # schemathesis' pytest fixtures do not work under this pytest, so the app is made at import, in a
    # temporary home removed at exit. The schema states the hard maxima; configured limits below them have
    # their own tests.
    home = Path(tempfile.mkdtemp(prefix="footnote-schema-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    app = make_app(home, max_question_chars=4000, max_history_turns=200)
    state = app.state.footnote
    # The ASGI transport does not run the lifespan: load the fake resources the way it would.
    state.resources = fake_factory(None)(state.settings)
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app_on_fakes())


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_schema(case: schemathesis.Case[Any]) -> None:
    excluded: list[CheckFunction] = []
    if case.media_type == "multipart/form-data":
        # Any bytes fit the upload's schema (a binary file), but only files the loaders read are documents: a
        # PNG is rightly refused with a 422, which the positive-data check would count as a failure.
        excluded.append(positive_data_acceptance)
    if case.path == "/v1/chat/completions":
        # OpenAI's request schema allows a conversation whose user messages hold no text (say, only control
        # characters); there is no question to answer then, and that rule across messages is one no JSON schema
        # states, so the rightful 422 is not a schema violation.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)
