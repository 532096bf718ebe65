"""Request fields typed as JSON Schema types them, so the published schema and the validation agree.

Request models are strict: JSON has real booleans, strings and numbers, so `"k": true` or `"stream": "yes"`
is a client's mistake to report with a 422, not to coerce (pydantic's lax mode read `"k": true` as k=1;
schemathesis found it). One difference remains between strict pydantic and JSON Schema: a JSON Schema
integer may be written with a zero fraction (`48.0`), which strict pydantic refuses. `WHOLE_FLOAT_AS_INT`
takes it.
"""

from __future__ import annotations

from pydantic import BeforeValidator


def _whole_float_to_int(value: object) -> object:
    # `bool` is not a float, so `true` still reaches the strict integer check and is refused there.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Last in the annotation, after any bounds: `Annotated[int, Field(ge=1), WHOLE_FLOAT_AS_INT]`. Bounds given after
# it (or to the field's own Field()) reach the JSON schema as pydantic's "ge" instead of JSON Schema's "minimum",
# and clients no longer see them.
WHOLE_FLOAT_AS_INT = BeforeValidator(_whole_float_to_int)
