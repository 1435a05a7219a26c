"""Reading query parameters and JSON bodies, with errors that name the parameter (or the key) and the value.

Times come in one form (ISO 8601 with a "Z" or an offset, `parse_iso`) and bodies may hold only the keys their
endpoint knows: a misspelt key is an error, not a silently ignored wish.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.ocpp.timefmt import iso_utc, parse_iso

__all__ = [
    "body_operator",
    "body_time",
    "json_body",
    "json_object",
    "path_int",
    "query_bool",
    "query_choices",
    "query_float",
    "query_int",
    "query_operator",
    "query_str",
    "query_time",
]


def path_int(request: web.Request, name: str, what: str) -> int:
    """The integer path segment `name`; 404 naming `what` when it is not one (no such resource), or is
    beyond what the store can hold (SQLite's signed 64-bit integers)."""
    raw = request.match_info[name]
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise ApiError(404, "not_found", f"no {what} {raw!r}")
    return value


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name}: expected an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ApiError(422, "invalid_request", f"{name}: {value} is outside {low}..{high}")
    return value


def query_float(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name}: expected a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ApiError(422, "invalid_request", f"{name}: must be a finite number")
    return value


def query_time(request: web.Request, name: str) -> float | None:
    """An ISO 8601 date-time parameter (with "Z" or an offset) as unix seconds; 400 naming it otherwise."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise ApiError(
            400,
            "bad_request",
            f"{name}: expected an ISO 8601 date-time with Z or an offset (2026-12-06T23:52:41Z), got {raw!r}",
        ) from None


def query_str(request: web.Request, name: str, choices: tuple[str, ...] | None = None) -> str | None:
    raw = request.query.get(name)
    if raw is not None and choices is not None and raw not in choices:
        raise ApiError(422, "invalid_request", f"{name}: {raw!r} is not one of {', '.join(choices)}")
    return raw


def query_choices(request: web.Request, name: str, choices: tuple[str, ...]) -> list[str]:
    """A comma-separated list of `choices` (empty when the parameter is absent)."""
    raw = request.query.get(name)
    if raw is None:
        return []
    given = [item.strip() for item in raw.split(",") if item.strip()]
    wrong = [item for item in given if item not in choices]
    if wrong or not given:
        raise ApiError(422, "invalid_request", f"{name}: {raw!r} is not a comma list of {', '.join(choices)}")
    return given


def query_bool(request: web.Request, name: str) -> bool | None:
    raw = query_str(request, name, ("true", "false"))
    return None if raw is None else raw == "true"


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, whatever its keys (an OCPP request: its schema judges them); 400
    when it is not JSON, 422 when it is not an object."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None
    except RecursionError:
        # The decoder recurses per nesting level; a 1 MiB body of brackets once answered 500.
        raise ApiError(400, "bad_request", "the body is JSON nested too deeply to read") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return body


async def json_body(request: web.Request, known: Collection[str]) -> dict[str, Any]:
    """The request body as a JSON object with no key but `known`; 400 when it is not JSON, 422 when it is
    not an object or holds a key the endpoint does not know."""
    body = await json_object(request)
    unknown = sorted(key for key in body if key not in known)
    if unknown:
        raise ApiError(
            422,
            "invalid_request",
            f"unknown key(s): {', '.join(unknown)} (this endpoint knows {', '.join(sorted(known))})",
            {"unknown_keys": unknown},
        )
    return body


def body_time(body: dict[str, Any], name: str) -> str | None:
    """An optional ISO 8601 date-time of a body (with "Z" or an offset), in the API's one form."""
    value = body.get(name)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return iso_utc(parse_iso(value))
    except ValueError:
        raise ApiError(
            422, "invalid_request", f"{name}: {value!r} is not an ISO 8601 date-time with Z or an offset"
        ) from None


def body_operator(body: dict[str, Any], *, required: bool) -> str | None:
    """Who acts, for the audit: a name of 1-100 characters (required where the contract says so; when the key
    is given it must hold a name, never null)."""
    if "operator" not in body and not required:
        return None
    operator = body.get("operator")
    if not isinstance(operator, str) or not operator.strip() or len(operator) > 100:
        raise ApiError(
            422,
            "invalid_request",
            "operator: expected a name of 1-100 characters (who does this, for the audit)",
        )
    return operator.strip()


def query_operator(request: web.Request) -> str | None:
    """Who acts, from the `operator` query parameter of a route without a JSON body (optional)."""
    if "operator" not in request.query:
        return None
    return body_operator({"operator": request.query["operator"]}, required=True)
