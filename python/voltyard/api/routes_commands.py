"""Commands: any CSMS-initiated action sent to a charger; the answer is its reply or a typed error."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.api.keys import APPLIANCE
from voltyard.api.params import json_body, query_int
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    CommandError,
    CommandTimeoutError,
    InvalidCommandError,
)
from voltyard.gateway.outbound import CSMS_ACTIONS

__all__ = ["routes"]

routes = web.RouteTableDef()


async def _call(
    request: web.Request, action: str, payload: dict[str, Any], *, validate: bool
) -> web.Response:
    appliance = request.app[APPLIANCE]
    assert appliance.commands is not None
    charger_id = request.match_info["charger_id"]
    timeout = query_int(request, "timeout", 30, 1, 300)
    try:
        answer = await appliance.commands.call(
            charger_id, action, payload, timeout=timeout, validate=validate
        )
    except InvalidCommandError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    except ChargerOfflineError as exc:
        raise ApiError(409, "charger_offline", str(exc)) from None
    except CommandTimeoutError as exc:
        raise ApiError(504, "timeout", str(exc)) from None
    except CallErrorReceivedError as exc:
        details = {"error_code": exc.code, "description": exc.description, "error_details": exc.details}
        raise ApiError(502, "call_error", str(exc), details) from None
    except CommandError as exc:
        raise ApiError(502, "command_failed", str(exc)) from None
    return web.json_response({"action": action, "answer": answer})


@routes.post("/api/v1/chargers/{charger_id}/commands/{action}")
async def command(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action not in CSMS_ACTIONS:
        raise ApiError(
            422,
            "invalid_request",
            f"{action!r} is not a CSMS-initiated OCPP 1.6 action",
            {"actions": sorted(CSMS_ACTIONS)},
        )
    return await _call(request, action, await json_body(request), validate=True)


@routes.post("/api/v1/chargers/{charger_id}/raw")
async def raw(request: web.Request) -> web.Response:
    body = await json_body(request)
    action, payload, validate = body.get("action"), body.get("payload", {}), body.get("validate", True)
    if not isinstance(action, str) or not action:
        raise ApiError(422, "invalid_request", "action: expected a non-empty string")
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid_request", "payload: expected a JSON object")
    if not isinstance(validate, bool):
        raise ApiError(422, "invalid_request", "validate: expected true or false")
    return await _call(request, action, payload, validate=validate)
