"""CSMS-initiated calls: `await commands.call(charger_id, action, payload, timeout=...)`.

The request is validated against its OCPP 1.6 schema before it is sent; calls to one charger go one at a
time (the rest wait their turn, in order); a call waits until the charger has booted and was accepted;
the answer is validated against the response schema. A late answer to a call that timed out is
discarded and logged by the connection. Accepted answers update the domain through the answer hooks.

Every call is recorded in the event log: CommandSent when it goes out, CommandAnswered with the answer's
status (or the error) when it ends, each with the `origin` of the task that sent it (events.COMMAND_ORIGIN:
an operator through the API, the power manager, the health checks), which gives them their category.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from voltyard._native import OcppCodec
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    CommandError,
    CommandTimeoutError,
    FrameEncodeError,
    InvalidCommandError,
    OcppError,
)
from voltyard.events import COMMAND_ORIGIN, Event, EventBus
from voltyard.gateway.connection import PendingCall
from voltyard.gateway.registry import Registry

__all__ = ["CSMS_ACTIONS", "AnswerHook", "Commands"]

log = logging.getLogger(__name__)

CSMS_ACTIONS = frozenset({
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache", "ClearChargingProfile",
    "DataTransfer", "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetLocalListVersion",
    "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "TriggerMessage", "UnlockConnector", "UpdateFirmware",
    # Security extension (OCPP 1.6 security whitepaper)
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage", "GetInstalledCertificateIds",
    "GetLog", "InstallCertificate", "SignedUpdateFirmware",
})  # fmt: skip

AnswerHook = Callable[[str, dict[str, Any], dict[str, Any]], Awaitable[None] | None]
RequestCheck = Callable[[str, dict[str, Any]], None]
LocalChargePoint = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class Commands:
    """Sends calls to chargers and returns their answers; see the module docstring."""

    def __init__(
        self, registry: Registry, codec: OcppCodec, events: EventBus, *, default_timeout: float = 30.0
    ) -> None:
        self._registry = registry
        self._codec = codec
        self._events = events
        self.default_timeout = default_timeout
        self._locks: dict[str, asyncio.Lock] = {}
        self._hooks: dict[str, AnswerHook] = {}
        self._checks: dict[str, RequestCheck] = {}
        self._local: dict[str, LocalChargePoint] = {}

    def add_local(self, charger_id: str, handler: LocalChargePoint) -> None:
        """Answer calls to `charger_id` in process (the DC cabinet is a charge point without a socket)."""
        self._local[charger_id] = handler

    def on_request(self, action: str, check: RequestCheck) -> None:
        """Run `check(charger_id, request)` before sending `action`; it raises InvalidCommandError."""
        if action in self._checks:
            raise ValueError(f"{action} already has a request check")
        self._checks[action] = check

    def on_answer(self, action: str, hook: AnswerHook) -> None:
        """Run `hook(charger_id, request, answer)` after every valid answer to `action`."""
        if action in self._hooks:
            raise ValueError(f"{action} already has an answer hook")
        self._hooks[action] = hook

    async def call(
        self,
        charger_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        validate: bool = True,
    ) -> dict[str, Any]:
        """Send `action` to `charger_id` and return its validated answer.

        Raises:
            InvalidCommandError: not a CSMS-initiated action, or the request or the answer breaks its schema.
            ChargerOfflineError: the charger is not connected, or went away before answering.
            CommandTimeoutError: no answer (or no accepted boot, or no turn in the queue) within `timeout`.
            CallErrorReceivedError: the charger answered with a CALLERROR.
        """
        if validate:
            if action not in CSMS_ACTIONS:
                raise InvalidCommandError(f"{action} is not a CSMS-initiated OCPP 1.6 action")
            try:
                self._codec.validate(action, payload)
            except (OcppError, FrameEncodeError) as exc:
                raise InvalidCommandError(f"{action} request: {exc}") from exc
        else:
            try:
                orjson.dumps(payload)
            except orjson.JSONEncodeError as exc:
                raise InvalidCommandError(f"{action} request is not JSON: {exc}") from exc
        check = self._checks.get(action)
        if check is not None:
            check(charger_id, payload)
        timeout = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        lock = self._locks.setdefault(charger_id, asyncio.Lock())
        sent: dict[str, str | None] = {"message_id": None}
        try:
            async with asyncio.timeout(timeout):
                async with lock:
                    local = self._local.get(charger_id)
                    if local is not None:
                        answer = await self._local_exchange(local, charger_id, action, payload)
                    else:
                        answer = await self._exchange(charger_id, action, payload, validate, sent)
        except TimeoutError:
            waited = timeout - max(0.0, deadline - time.monotonic())
            error = CommandTimeoutError(f"{charger_id}: no answer to {action} within {waited:.1f} s")
            self._answered(charger_id, action, sent["message_id"], error=str(error))
            raise error from None
        except CommandError as exc:
            self._answered(charger_id, action, sent["message_id"], error=str(exc))
            raise
        status = answer.get("status")
        self._answered(
            charger_id, action, sent["message_id"], status=status if isinstance(status, str) else "Answered"
        )
        hook = self._hooks.get(action) if validate else None  # an unchecked answer must not change state
        if hook is not None:
            outcome = hook(charger_id, payload, answer)
            if outcome is not None:
                await outcome
        return answer

    async def _local_exchange(
        self, local: LocalChargePoint, charger_id: str, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            answer = await local(action, payload)
        except OcppError as exc:
            raise CallErrorReceivedError(exc.code, exc.description, {}) from exc
        data = {"action": action, "local": True, "origin": COMMAND_ORIGIN.get()}
        self._events.publish(Event("CommandSent", charger_id, data))
        return answer

    def _answered(
        self,
        charger_id: str,
        action: str,
        message_id: str | None,
        *,
        status: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a call ended: the answer's status, or why there was none."""
        data: dict[str, Any] = {"action": action, "message_id": message_id, "origin": COMMAND_ORIGIN.get()}
        if error is None:
            data["status"] = status
        else:
            data["error"] = error
        self._events.publish(Event("CommandAnswered", charger_id, data))

    async def _exchange(
        self,
        charger_id: str,
        action: str,
        payload: dict[str, Any],
        validate: bool,
        sent: dict[str, str | None],
    ) -> dict[str, Any]:
        connection = self._registry.get(charger_id)
        if connection is None:
            raise ChargerOfflineError(f"{charger_id} is not connected")
        await connection.wait_ready()
        if self._registry.get(charger_id) is not connection:
            raise ChargerOfflineError(f"{charger_id} reconnected before the call could be sent")
        pending = PendingCall(str(uuid.uuid4()), action, asyncio.get_running_loop().create_future(), validate)
        connection.send_call(pending, payload)  # masks the secrets of what it logs and taps
        sent["message_id"] = pending.message_id
        data = {"action": action, "messageId": pending.message_id, "origin": COMMAND_ORIGIN.get()}
        self._events.publish(Event("CommandSent", charger_id, data))
        try:
            return await pending.future
        finally:
            if connection.pending is pending:
                connection.pending = None
            connection.log_call(pending)
