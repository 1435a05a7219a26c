"""Commands: any CSMS-initiated action sent to a charger; the answer is its reply or a typed error."""

from __future__ import annotations

from aiohttp import web

from voltyard.api.commands import call_command
from voltyard.api.errors import ApiError
from voltyard.api.keys import SESSIONS
from voltyard.api.params import json_body, json_object
from voltyard.ocpp.actions import ACTION_TABLES, Direction

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/api/v1/chargers/{charger_id}/commands/{action}")
async def command(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    # A charger takes the actions of its version (of its session, or the one it last connected with).
    version = request.app[SESSIONS].version_of(request.match_info["charger_id"])
    allowed = ACTION_TABLES[version].sent_by(Direction.CSMS)
    if action not in allowed:
        raise ApiError(
            422,
            "invalid_request",
            f"{action!r} is not a CSMS-initiated OCPP {version} action",
            {"actions": sorted(allowed)},
        )
    # The body is the OCPP request: its own schema (checked before it is sent) says which keys it may hold.
    payload = await json_object(request)
    return await call_command(request, request.match_info["charger_id"], action, payload, validate=True)


@routes.post("/api/v1/chargers/{charger_id}/raw")
async def raw(request: web.Request) -> web.Response:
    body = await json_body(request, ("action", "payload", "validate"))
    action, payload, validate = body.get("action"), body.get("payload", {}), body.get("validate", True)
    if not isinstance(action, str) or not action:
        raise ApiError(422, "invalid_request", "action: expected a non-empty string")
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid_request", "payload: expected a JSON object")
    if not isinstance(validate, bool):
        raise ApiError(422, "invalid_request", "validate: expected true or false")
    return await call_command(request, request.match_info["charger_id"], action, payload, validate=validate)
