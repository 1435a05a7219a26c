"""CSMS-initiated calls: `await commands.call(charger_id, action, payload, timeout=...)`.

The request is validated against its OCPP 1.6 schema before it is sent; calls to one charger go one at a
time (the rest wait their turn, in order); a call waits until the charger has booted and was accepted;
the answer is validated against the response schema. A late answer to a call that timed out is
discarded and logged. Accepted answers update the domain through the answer hooks.

`Commands` is the only owner of a charger's pending call: it sends the CALL through the charger's `Session`,
dispatch hands it every CALLRESULT / CALLERROR (`answered`) and the end of every session (`closed`), and
the call's own task clears the slot once, whichever way the call ended.

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

from voltyard._native import CallError, CallResult, CallResultError, OcppCodec, encode_call
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    CommandError,
    CommandTimeoutError,
    FrameEncodeError,
    InvalidCommandError,
    OcppError,
)
from voltyard.events.bus import EventBus
from voltyard.events.kinds import COMMAND_ORIGIN, CommandAnswered, CommandSent, MessageOut
from voltyard.metrics import Metrics, count
from voltyard.ocpp.actions import ACTION_TABLES, Direction
from voltyard.ocpp.codec import load_codec
from voltyard.ocpp.connector_ids import check_command
from voltyard.ocpp.redaction import redacted
from voltyard.ocpp.registry import Registry
from voltyard.ocpp.session import Session
from voltyard.ocpp.tap import tap
from voltyard.store.message_log import MessageLog

__all__ = ["AnswerHook", "Commands", "PendingCall"]

log = logging.getLogger(__name__)

AnswerHook = Callable[[str, dict[str, Any], dict[str, Any]], Awaitable[None] | None]
RequestCheck = Callable[[str, dict[str, Any]], None]
LocalChargePoint = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class PendingCall:
    """The one outstanding CSMS-initiated call of a charger."""

    __slots__ = (
        "action", "frame", "future", "message_id", "reply", "reply_type", "sent_at", "session", "validate",
    )  # fmt: skip

    def __init__(
        self,
        session: Session,
        message_id: str,
        action: str,
        future: asyncio.Future[dict[str, Any]],
        validate: bool = True,
    ) -> None:
        self.session = session
        self.validate = validate
        self.message_id = message_id
        self.action = action
        self.future = future
        self.frame = b""
        self.sent_at = 0.0
        self.reply: bytes | None = None
        self.reply_type: int | None = None


class Commands:
    """Sends calls to chargers and returns their answers; see the module docstring."""

    def __init__(
        self,
        registry: Registry,
        codec: OcppCodec,
        events: EventBus,
        message_log: MessageLog,
        metrics: Metrics,
        *,
        default_timeout: float = 30.0,
    ) -> None:
        self._registry = registry
        self._codec = codec
        self._events = events
        self._message_log = message_log
        self._metrics = metrics
        self.default_timeout = default_timeout
        # Charger id -> its one outstanding call (calls to a charger go one at a time, under its lock).
        self._pending: dict[str, PendingCall] = {}
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

    def on_answer(self, action: str, hook: AnswerHook, *, version: str = "1.6") -> None:
        """Run `hook(charger_id, request, answer)` after every valid answer to `action` from a charger of
        `version` (the shapes differ from version to version)."""
        key = action if version == "1.6" else f"{version}:{action}"
        if key in self._hooks:
            raise ValueError(f"{action} already has an answer hook for OCPP {version}")
        self._hooks[key] = hook

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
        # The charger's version: of its session, or the one it last connected with (1.6 for one never seen
        # in this process, and for the in-process cabinet).
        version = self._registry.version_of(charger_id)
        if validate:
            if action not in ACTION_TABLES[version].sent_by(Direction.CSMS):
                raise InvalidCommandError(
                    f"{action} is not a CSMS-initiated OCPP {version} action (the version of {charger_id})"
                )
            try:
                self._codec_of(version).validate(action, payload)
                check_command(version, action, payload)
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
        # An unchecked answer must not change state; each hook reads its own version's shapes.
        key = action if version == "1.6" else f"{version}:{action}"
        hook = self._hooks.get(key) if validate else None
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
        self._events.publish(CommandSent(charger_id, action, COMMAND_ORIGIN.get(), local=True))
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
        origin = COMMAND_ORIGIN.get()
        self._events.publish(CommandAnswered(charger_id, action, message_id, origin, status, error))

    async def _exchange(
        self,
        charger_id: str,
        action: str,
        payload: dict[str, Any],
        validate: bool,
        sent: dict[str, str | None],
    ) -> dict[str, Any]:
        session = self._registry.get(charger_id)
        if session is None:
            raise ChargerOfflineError(f"{charger_id} is not connected")
        await session.wait_ready()
        if self._registry.get(charger_id) is not session:
            raise ChargerOfflineError(f"{charger_id} reconnected before the call could be sent")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        pending = PendingCall(session, str(uuid.uuid4()), action, future, validate)
        self._pending[charger_id] = pending
        try:
            self._send(pending, payload)  # masks the secrets of what it logs and taps
            sent["message_id"] = pending.message_id
            sent_event = CommandSent(charger_id, action, COMMAND_ORIGIN.get(), pending.message_id)
            self._events.publish(sent_event)
            return await future
        finally:
            # The one place the slot is cleared: answered, refused, timed out, cut off or cancelled.
            if self._pending.get(charger_id) is pending:
                del self._pending[charger_id]
            self._log_call(pending)

    def _codec_of(self, version: str) -> OcppCodec[Any]:
        return self._codec if version == "1.6" else load_codec(version)

    def pending(self, charger_id: str) -> PendingCall | None:
        """The outstanding call to `charger_id`, if any."""
        return self._pending.get(charger_id)

    def _send(self, pending: PendingCall, payload: dict[str, Any]) -> None:
        """Send the CALL whose answer `pending` awaits; the exchange is logged by `_log_call`."""
        try:
            frame = encode_call(pending.message_id, pending.action, payload)
        except FrameEncodeError as exc:
            raise InvalidCommandError(f"{pending.action} request: {exc}") from exc
        pending.sent_at = time.time()
        session = pending.session
        session.send(frame)
        # What the charger got is gone; from here on (the message log, the live stream's MessageOut, which
        # read-only clients see) the frame holds no secret. The tap once showed a new AuthorizationKey.
        masked = redacted(pending.action, payload)
        pending.frame = frame if masked is None else encode_call(pending.message_id, pending.action, masked)
        count(self._metrics.calls_out, pending.action)
        if self._events.tap_messages:
            tap(self._events, MessageOut, session.charger_id, pending.action, pending.message_id, 2,
                pending.frame)  # fmt: skip

    def _log_call(self, pending: PendingCall) -> None:
        """Log a CSMS-initiated exchange once it ended (answered, timed out or cut off)."""
        self._message_log.exchange(
            pending.session.charger_id, "out", pending.sent_at, pending.frame, 2, pending.message_id,
            pending.action, pending.reply, pending.reply_type,
        )  # fmt: skip

    def answered(
        self, session: Session, data: bytes, message: CallResult | CallError | CallResultError
    ) -> None:
        """A CALLRESULT or CALLERROR (2.1: or CALLRESULTERROR) from `session`: the answer of its pending call,
        or discarded (logged)."""
        message_id = message.message_id
        kind = 3 if type(message) is CallResult else 5 if type(message) is CallResultError else 4
        pending = self._pending.get(session.charger_id)
        if (
            pending is None
            or pending.session is not session
            or pending.message_id != message_id
            or pending.future.done()
        ):
            log.warning(
                "%s: answer to unknown or timed-out call %s discarded", session.charger_id, message_id
            )
            self._message_log.exchange(session.charger_id, "in", time.time(), data, kind, message_id, None)
            return
        action = pending.action
        pending.reply = data
        pending.reply_type = kind
        if type(message) is not CallResult:
            pending.future.set_exception(
                CallErrorReceivedError(message.code, message.description, message.details)
            )
            return
        try:
            if pending.validate:
                self._codec_of(session.ocpp_version).validate(action, message.payload, response=True)
        except OcppError as exc:
            pending.future.set_exception(
                InvalidCommandError(f"{action} answer from {session.charger_id}: {exc}")
            )
            return
        pending.future.set_result(message.payload)

    def closed(self, session: Session) -> None:
        """`session` ended: its pending call (not a newer session's) fails with ChargerOfflineError."""
        pending = self._pending.get(session.charger_id)
        if pending is not None and pending.session is session and not pending.future.done():
            pending.future.set_exception(
                ChargerOfflineError(f"{session.charger_id}: disconnected during the call")
            )
