"""Server-Sent Events framing: `event: NAME` and one `data:` line of JSON per event."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_event(name: str | None, data: BaseModel | dict[str, Any] | str) -> str:
    """One event; JSON keeps newlines escaped, so a single data line always suffices."""
    if isinstance(data, BaseModel):
        payload = data.model_dump_json()
    elif isinstance(data, dict):
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        payload = data
    prefix = f"event: {name}\n" if name else ""
    return f"{prefix}data: {payload}\n\n"


def sse_schema(events: list[str] | None = None) -> dict[str, object]:
    """The OpenAPI description of one event (OpenAPI 3.1 has a text/event-stream `schema` describe each)."""
    event: dict[str, object] = {"type": "string"}
    if events is not None:
        event["enum"] = events
    return {
        "type": "object",
        "required": ["data"],
        "properties": {"event": event, "data": {"type": "string"}, "id": {"type": "string"}},
    }
