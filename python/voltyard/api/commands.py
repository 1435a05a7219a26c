"""Sending a command for an API route: its answer as `{"action", "answer"}`, or a typed JSON error."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.api.keys import CHARGERS, COMMANDS
from voltyard.api.params import query_int
from voltyard.api.views import CommandAnswer
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    CommandError,
    CommandTimeoutError,
    InvalidCommandError,
)

__all__ = ["call_command", "known_charger"]


def known_charger(request: web.Request, charger_id: str) -> None:
    """404 unless the appliance knows `charger_id` (a charger it has seen or was told of)."""
    if charger_id not in request.app[CHARGERS].records:
        raise ApiError(404, "unknown_charger", f"no charger {charger_id!r} is known")


async def call_command(
    request: web.Request, charger_id: str, action: str, payload: dict[str, Any], *, validate: bool
) -> web.Response:
    """Send `action` to a known charger: 404 for an unknown one, 409 when it is not connected."""
    known_charger(request, charger_id)
    timeout = query_int(request, "timeout", 30, 1, 300)
    try:
        answer = await request.app[COMMANDS].call(
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
    return web.json_response(CommandAnswer(action=action, answer=answer))
