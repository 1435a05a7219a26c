"""The smallest schema-valid answer of a charger-initiated 2.x action, read from its response schema.

For the actions this central system records but does not act on yet (NotifyEvent, NotifyDisplayMessages,
...): every required field, an enum's "Accepted" where it has one (else its first value), empty strings,
zeros, the current time for a date-time. The table test validates each against the codec.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from voltyard.ocpp.codec import schema_dir
from voltyard.ocpp.timefmt import utc_now

__all__ = ["minimal_answer"]


@cache
def _response_schema(version: str, action: str) -> dict[str, Any]:
    file = schema_dir(version) / f"{action}Response.json"
    if not file.is_file():
        return {}
    schema: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return schema


def minimal_answer(version: str, action: str) -> dict[str, Any]:
    """The smallest valid response payload of `action` in `version` (dated now where it holds a time); {}
    for a SEND-only message (2.1), which has no response."""
    schema = _response_schema(version, action)
    if not schema:
        return {}
    value = _fill(schema, schema.get("definitions", {}))
    assert isinstance(value, dict)
    return value


def _fill(schema: dict[str, Any], definitions: dict[str, Any]) -> object:  # noqa: PLR0911 - one per type
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _fill(definitions[ref.rsplit("/", 1)[-1]], definitions)
    if "enum" in schema:
        choices = schema["enum"]
        return "Accepted" if "Accepted" in choices else choices[0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: _fill(properties[key], definitions) for key in schema.get("required", [])}
    if kind == "array":
        return [_fill(schema["items"], definitions) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return utc_now() if schema.get("format") == "date-time" else "x" * schema.get("minLength", 0)
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return {}
