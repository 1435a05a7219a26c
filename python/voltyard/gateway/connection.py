"""One charger's websocket session: frames in -> native decode -> router -> reply out.

This is the per-message hot path, so it stays flat: one native call decodes and validates the frame, a
dict lookup finds the handler, orjson writes the reply. Anything a charger sends is answered as the
spec asks (a CALLERROR for a CALL that cannot be read or handled; an unknown message type ignored) and
never raises out of `on_ws_frame`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import TYPE_CHECKING

import orjson
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from voltyard._native import Call, CallError, CallResult
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    InvalidCommandError,
    OcppError,
    OcppSecurityError,
)
from voltyard.events import Event
from voltyard.gateway.admission import TokenBucket
from voltyard.metrics import count
from voltyard.ocpp.redaction import redacted
from voltyard.ocpp.router import unhandled

if TYPE_CHECKING:
    from voltyard.gateway.server import Gateway
    from voltyard.ocpp.leniency import RepairedCall
    from voltyard.ocpp.router import Payload

__all__ = ["ChargerConnection", "PendingCall"]

log = logging.getLogger(__name__)

# Messages held for a charger over its rate limit before it is disconnected.
_MAX_BACKLOG = 1000
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE


class PendingCall:
    """The one outstanding CSMS-initiated call of a connection."""

    __slots__ = ("action", "frame", "future", "message_id", "reply", "reply_type", "sent_at", "validate")

    def __init__(
        self, message_id: str, action: str, future: asyncio.Future[Payload], validate: bool = True
    ) -> None:
        self.validate = validate
        self.message_id = message_id
        self.action = action
        self.future = future
        self.frame = b""
        self.sent_at = 0.0
        self.reply: bytes | None = None
        self.reply_type: int | None = None


class ChargerConnection(WSListener):
    """The session of one charger connection (one object per socket)."""

    __slots__ = (
        "_backlog", "_fragments", "_rate", "_ready", "admitted", "charger_id", "gateway", "last_message",
        "max_frame_size", "pending", "profile", "source", "transport",
    )  # fmt: skip

    def __init__(self, charger_id: str, gateway: Gateway, source: str = "?", profile: int = 0) -> None:
        self.charger_id = charger_id
        self.gateway = gateway
        self.source = source
        self.profile = profile
        admission = gateway.config.admission
        self._rate = TokenBucket(admission.message_rate, admission.message_burst)
        self._backlog: collections.deque[bytes] | None = None
        self.max_frame_size = gateway.chargers.max_frame_size(charger_id)
        self.last_message = time.time()
        self.transport: WSTransport | None = None
        self.pending: PendingCall | None = None
        self._ready: asyncio.Future[None] | None = None
        self._fragments: list[bytes] | None = None
        # Set once the charger is known to be accepted, so that the per-frame check is one attribute read.
        self.admitted = False

    # --- picows callbacks ----------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.gateway.connected(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.pending is not None and not self.pending.future.done():
            self.pending.future.set_exception(
                ChargerOfflineError(f"{self.charger_id}: disconnected during the call")
            )
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        self.gateway.disconnected(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if frame.fin:
                self.receive(frame.get_payload_as_bytes())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
        elif msg_type is _CONTINUATION:
            if self._fragments is None:
                log.warning("%s: continuation frame without a first fragment, ignored", self.charger_id)
                return
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), None
                self.receive(data)
        elif msg_type is _CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    # --- frames --------------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Handle one complete OCPP-J message."""
        if len(data) > self.max_frame_size:
            log.warning(
                "%s: %d-byte message over its limit of %d", self.charger_id, len(data), self.max_frame_size
            )
            self.close(f"message over {self.max_frame_size} bytes", WSCloseCode.MESSAGE_TOO_BIG)
            return
        if self._backlog is not None:
            self._queue(data)
            return
        if not self._rate.take():
            self._backlog = collections.deque()
            self._queue(data)
            return
        self._handle(data)

    def _handle(self, data: bytes) -> None:
        gateway = self.gateway
        try:
            message = gateway.codec.decode(data, meter_values=True)
        except OcppError as exc:
            gateway.refused(self, data, exc)
            return
        if type(message) is Call:
            self.dispatch(message, data, time.time())
        elif type(message) is CallResult:
            self._answered(data, message.message_id, message, 3)
        else:
            self._answered(data, message.message_id, message, 4)

    def dispatch(self, call: Call | RepairedCall, data: bytes, received_at: float) -> None:
        """Run the handler of a decoded (or leniency-repaired) CALL and answer it."""
        gateway = self.gateway
        action = call.action
        self.last_message = received_at
        calls_in = gateway.metrics.calls_in
        try:  # `count`, inlined
            calls_in[action] += 1
        except KeyError:
            calls_in[action] = 1
        if gateway.events.tap_messages:
            self._tap("MessageIn", action, call.message_id, 2, data)
        router = gateway.router
        handler = router.get(action)
        try:
            if handler is None:
                raise unhandled(action)
            if not self.admitted and action != "BootNotification" and not gateway.admits(self):
                raise OcppSecurityError(
                    f"{self.charger_id} is not accepted; it must send BootNotification first"
                )
            reply = handler(self, call if action in router.whole_call else call.payload)
        except OcppError as exc:
            self.send_call_error(call.message_id, exc.code, exc.description, action, data, received_at)
            return
        except Exception:
            log.exception("%s: %s handler failed", self.charger_id, action)
            self.send_call_error(
                call.message_id, "InternalError", f"{action} could not be handled", action, data, received_at
            )
            return
        if type(reply) is dict:
            self.send_call_result(call.message_id, reply, action, data, received_at)
        else:
            asyncio.ensure_future(reply).add_done_callback(  # type: ignore[arg-type]
                lambda done: self._deferred_reply(call.message_id, action, data, received_at, done)
            )

    def _deferred_reply(
        self, message_id: str, action: str, data: bytes, received_at: float, done: asyncio.Future[Payload]
    ) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if error is None:
            self.send_call_result(message_id, done.result(), action, data, received_at)
        elif isinstance(error, OcppError):
            self.send_call_error(message_id, error.code, error.description, action, data, received_at)
        else:
            log.error("%s: %s failed", self.charger_id, action, exc_info=error)
            self.send_call_error(
                message_id, "InternalError", f"{action} could not be completed", action, data, received_at
            )

    def _answered(self, data: bytes, message_id: str, message: CallResult | CallError, kind: int) -> None:
        pending = self.pending
        if pending is None or pending.message_id != message_id or pending.future.done():
            log.warning("%s: answer to unknown or timed-out call %s discarded", self.charger_id, message_id)
            self.gateway.message_log.exchange(
                self.charger_id, "in", time.time(), data, kind, message_id, None
            )
            return
        self.pending = None
        action = pending.action
        pending.reply = data
        pending.reply_type = kind
        if type(message) is CallError:
            pending.future.set_exception(
                CallErrorReceivedError(message.code, message.description, message.details)
            )
            return
        try:
            if pending.validate:
                self.gateway.codec.validate(action, message.payload, response=True)
        except OcppError as exc:
            pending.future.set_exception(
                InvalidCommandError(f"{action} answer from {self.charger_id}: {exc}")
            )
            return
        pending.future.set_result(message.payload)

    # --- sending -------------------------------------------------------------------------------

    def send_call_result(
        self, message_id: str, payload: Payload, action: str, request: bytes, received_at: float
    ) -> None:
        gateway = self.gateway
        if gateway.validate_outgoing:
            gateway.codec.validate(action, payload, response=True)
        data = orjson.dumps([3, message_id, payload])
        transport = self.transport  # `_send`, inlined: this is most of what a server sends
        if transport is not None and not transport.is_disconnected:
            transport.send(_TEXT, data)
        took = gateway.message_log.answered(self.charger_id, received_at, request, message_id, action, data)
        gateway.metrics.handled(took)
        if gateway.events.tap_messages:
            self._tap("MessageOut", action, message_id, 3, data)

    def send_call_error(  # noqa: PLR0917 - as send_call_result
        self,
        message_id: str,
        code: str,
        description: str,
        action: str | None,
        request: bytes,
        received_at: float,
    ) -> None:
        data = orjson.dumps([4, message_id, code, description[:255], {}])
        self._send(data)
        gateway = self.gateway
        gateway.message_log.exchange(
            self.charger_id, "in", received_at, request, 2, message_id, action, data, 4
        )
        count(gateway.metrics.call_errors, code)
        if gateway.events.tap_messages:
            self._tap("MessageOut", action, message_id, 4, data)

    def send_call(self, pending: PendingCall, payload: Payload) -> None:
        """Send a CSMS-initiated CALL whose answer `pending` awaits; the exchange is logged by `log_call`."""
        frame = orjson.dumps([2, pending.message_id, pending.action, payload])
        pending.sent_at = time.time()
        self.pending = pending
        self._send(frame)
        # What the charger got is gone; from here on (the message log, the live stream's MessageOut, which
        # read-only clients see) the frame holds no secret. The tap once showed a new AuthorizationKey.
        masked = redacted(pending.action, payload)
        pending.frame = (
            frame if masked is None else orjson.dumps([2, pending.message_id, pending.action, masked])
        )
        count(self.gateway.metrics.calls_out, pending.action)
        if self.gateway.events.tap_messages:
            self._tap("MessageOut", pending.action, pending.message_id, 2, pending.frame)

    def log_call(self, pending: PendingCall) -> None:
        """Log a CSMS-initiated exchange once it ended (answered, timed out or cut off)."""
        self.gateway.message_log.exchange(
            self.charger_id, "out", pending.sent_at, pending.frame, 2, pending.message_id, pending.action,
            pending.reply, pending.reply_type,
        )  # fmt: skip

    def _tap(self, kind: str, action: str | None, message_id: str, message_type: int, frame: bytes) -> None:
        """A per-frame event for live inspectors (only built while one listens)."""
        data = {"action": action, "message_id": message_id, "message_type": message_type,
                "frame": frame.decode("utf-8", "replace")}  # fmt: skip
        self.gateway.events.live(Event(kind, self.charger_id, data))

    def _send(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.send(_TEXT, data)

    def _queue(self, data: bytes) -> None:
        """Over its message rate: hold the message, stop reading the socket (TCP pushes back on the
        charger) and handle the backlog as tokens come due. Other chargers are not slowed."""
        assert self._backlog is not None
        if len(self._backlog) >= _MAX_BACKLOG:
            log.warning("%s: over %d messages behind its rate limit; closing", self.charger_id, _MAX_BACKLOG)
            self.close("message rate limit exceeded", WSCloseCode.POLICY_VIOLATION)
            return
        self._backlog.append(data)
        if len(self._backlog) == 1 and self.transport is not None:
            self.transport.underlying_transport.pause_reading()
            asyncio.get_running_loop().call_later(self._rate.wait_time(), self._drain)

    def _drain(self) -> None:
        backlog = self._backlog
        if backlog is None or self.transport is None or self.transport.is_disconnected:
            self._backlog = None
            return
        while backlog and self._rate.take():
            self._handle(backlog.popleft())
        if backlog:
            asyncio.get_running_loop().call_later(self._rate.wait_time(), self._drain)
            return
        self._backlog = None
        self.transport.underlying_transport.resume_reading()

    def close(self, reason: str, code: WSCloseCode = WSCloseCode.OK) -> None:
        """Close the websocket (e.g. replaced by a newer connection, or shutdown)."""
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send_close(code, reason.encode()[:120])
            self.transport.disconnect()

    # --- readiness for CSMS-initiated calls ----------------------------------------------------

    def mark_ready(self) -> None:
        """The charger has booted (or shown it runs as booted): calls to it may go."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
        if not self._ready.done():
            self._ready.set_result(None)

    @property
    def ready(self) -> bool:
        return self._ready is not None and self._ready.done() and not self._ready.cancelled()

    async def wait_ready(self) -> None:
        """Wait until `mark_ready`; raises ChargerOfflineError if the connection goes first."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
        try:
            await asyncio.shield(self._ready)
        except asyncio.CancelledError:
            if self._ready.cancelled():
                raise ChargerOfflineError(
                    f"{self.charger_id}: disconnected before it finished booting"
                ) from None
            raise
