"""Reading query parameters and JSON bodies, with errors that name the parameter."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from voltyard.api.errors import ApiError

__all__ = ["json_body", "query_bool", "query_float", "query_int", "query_str"]


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


def query_str(request: web.Request, name: str, choices: tuple[str, ...] | None = None) -> str | None:
    raw = request.query.get(name)
    if raw is not None and choices is not None and raw not in choices:
        raise ApiError(422, "invalid_request", f"{name}: {raw!r} is not one of {', '.join(choices)}")
    return raw


def query_bool(request: web.Request, name: str) -> bool | None:
    raw = query_str(request, name, ("true", "false"))
    return None if raw is None else raw == "true"


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 when it is not JSON, 422 when it is not an object."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return body
