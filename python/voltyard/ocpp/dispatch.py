"""A charger's frames in, the central system's answers out: decode -> leniency -> router -> reply bytes.

This is the per-message hot path, so it stays flat: one native call decodes and validates the frame, a
dict lookup finds the handler, orjson writes the reply (the native `encode_call_result` converts the payload
to Rust values first and measured twice as slow; CALLERRORs, rarer, use the native `encode_call_error`).
Anything a charger sends is answered as the spec asks (a CALLERROR for a CALL that cannot be read or
handled; an unknown message type ignored) and nothing raises out of `receive`.

The session's lifecycle passes here too: `opened` makes it the charger's live session (closing the one it
replaces) and `closed` ends its pending call (`Commands.closed`) and marks the charger offline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from voltyard._native import Call, OcppCodec, Send, encode_call_error
from voltyard.domain.chargers import Chargers
from voltyard.errors import OcppError, OcppSecurityError
from voltyard.events.bus import EventBus
from voltyard.events.kinds import ChargerConnected, ChargerDisconnected, MessageIn, MessageOut
from voltyard.metrics import FASTEST_HANDLING, Metrics, count
from voltyard.ocpp.commands import Commands
from voltyard.ocpp.leniency import Leniency
from voltyard.ocpp.registry import Registry
from voltyard.ocpp.router import Router, unhandled
from voltyard.ocpp.session import CLOSE_POLICY_VIOLATION, Session
from voltyard.ocpp.tap import tap
from voltyard.store.message_log import MessageLog

if TYPE_CHECKING:
    from voltyard.ocpp.codec import OcppVersion
    from voltyard.ocpp.leniency import RepairedCall
    from voltyard.ocpp.router import Payload

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)


class Dispatcher:
    """The OCPP side of every session; see the module docstring."""

    def __init__(  # noqa: PLR0917 - the composition root passes each collaborator once
        self,
        codec: OcppCodec,
        router: Router,
        leniency: Leniency,
        commands: Commands,
        registry: Registry,
        chargers: Chargers,
        events: EventBus,
        message_log: MessageLog,
        metrics: Metrics,
        *,
        validate_outgoing: bool = False,
        unknown_accepted: bool = False,
        lanes: Mapping[str, tuple[OcppCodec[Any], Router]] | None = None,
    ) -> None:
        self.codec = codec
        self.router = router
        # The codec and router of each OCPP version but 1.6 (which keeps its own attributes: its hot path
        # reads one attribute and compares one string more than before).
        self.lanes: dict[str, tuple[OcppCodec[Any], Router]] = dict(lanes or {})
        self.leniency = leniency
        self.commands = commands
        self.registry = registry
        self.chargers = chargers
        self.events = events
        self.message_log = message_log
        self.metrics = metrics
        self.validate_outgoing = validate_outgoing
        self.refused_frames = 0
        self._unknown_accepted = unknown_accepted
        self._decode = codec.decode

    # --- lifecycle -----------------------------------------------------------------------------

    def opened(self, session: Session) -> None:
        """`session` is the charger's live one now; the one it replaces is closed."""
        previous = self.registry.attach(session)
        if previous is not None:
            log.info("%s: new connection replaces the previous one", session.charger_id)
            previous.close("replaced by a new connection", CLOSE_POLICY_VIOLATION)
        self.chargers.set_online(session.charger_id, online=True)
        self.events.publish(ChargerConnected(session.charger_id, session.source, session.profile))

    def closed(self, session: Session) -> None:
        """`session` ended: its pending call fails; the charger is offline unless a newer one took over."""
        self.commands.closed(session)
        if self.registry.detach(session):
            self.chargers.set_online(session.charger_id, online=False)
            self.events.publish(ChargerDisconnected(session.charger_id))

    # --- frames in -----------------------------------------------------------------------------

    def receiver(self, version: OcppVersion) -> Callable[[Session, bytes], None]:
        """The `receive` of the sessions of `version`, chosen once when a connection opens: the hot path
        then compares no version per message."""
        return self._receive_16 if version == "1.6" else self._receive_2x

    def receive(self, session: Session, data: bytes) -> None:
        """Handle one complete OCPP-J message of `session`."""
        if session.ocpp_version == "1.6":
            self._receive_16(session, data)
        else:
            self._receive_2x(session, data)

    def _receive_16(self, session: Session, data: bytes) -> None:
        """A message of an OCPP 1.6 session: the hot path."""
        try:
            message = self._decode(data, meter_values=True)
        except OcppError as exc:
            self.refused(session, data, exc)
            return
        if type(message) is Call:
            self._dispatch(session, message, data, time.time(), self.router)
        else:
            self.commands.answered(session, data, message)

    def _receive_2x(self, session: Session, data: bytes) -> None:
        """A message of an OCPP 2.0.1 or 2.1 session: decoded by its version's codec; 2.1's SEND is handled
        and logged, never answered, and its CALLRESULTERROR ends the pending call as a CALLERROR would."""
        codec, router = self.lanes[session.ocpp_version]
        try:
            message = codec.decode(data)
        except OcppError as exc:
            self.refused(session, data, exc)
            return
        kind = type(message)
        if kind is Call:
            self._dispatch(session, message, data, time.time(), router)
        elif kind is Send:
            self._sent(session, message, data, router)
        else:
            self.commands.answered(session, data, message)

    def _sent(self, session: Session, message: Send, data: bytes, router: Router) -> None:
        """A 2.1 SEND: its handler runs (for what it stores), it is logged, and nothing goes back."""
        received_at = session.last_message = time.time()
        count(self.metrics.calls_in, message.action)
        handler = router.get(message.action)
        if handler is not None and (session.admitted or self.admits(session)):
            try:
                handler(session, message.payload)
            except Exception:
                log.exception("%s: %s (SEND) handler failed", session.charger_id, message.action)
        self.message_log.exchange(
            session.charger_id, "in", received_at, data, 6, message.message_id, message.action
        )

    def admits(self, session: Session) -> bool:
        """Whether a non-boot request of this charger is handled: it is accepted, or unknown under "accept".

        An accepted charger that talks without booting (it reconnected, or the central system restarted)
        is running as booted, so calls to it may go from now on.
        """
        registration = self.chargers.get(session.charger_id).registration
        if registration == "Accepted":
            session.admitted = True
            session.mark_ready()
            return True
        return registration == "Unknown" and self._unknown_accepted

    def refused(self, session: Session, data: bytes, error: OcppError) -> None:
        """A frame the codec refused: tolerated if a leniency rule of the charger repairs it, else logged,
        counted, and answered with a CALLERROR when it was a CALL."""
        received_at = time.time()
        if error.message_type == 2 and error.message_id is not None:
            # The leniency rules repair deviations from the 1.6 schemas only.
            if session.ocpp_version == "1.6":
                repaired = self.leniency.repair(session.charger_id, data, error)
                if repaired is not None:
                    self.dispatch(session, repaired, data, received_at)
                    return
            self.refused_frames += 1
            count(self.metrics.calls_in, error.action or "?")
            self.send_call_error(
                session, error.message_id, error.code, error.description, error.action, data, received_at
            )
            return
        self.refused_frames += 1
        log.warning("%s: frame refused and not answerable: %s", session.charger_id, error)
        self.message_log.exchange(
            session.charger_id, "in", received_at, data, error.message_type, error.message_id, error.action
        )

    def dispatch(self, session: Session, call: Call | RepairedCall, data: bytes, received_at: float) -> None:
        """Run the handler of a decoded (or leniency-repaired) CALL and answer it."""
        router = self.router if session.ocpp_version == "1.6" else self.lanes[session.ocpp_version][1]
        self._dispatch(session, call, data, received_at, router)

    def _dispatch(
        self, session: Session, call: Call | RepairedCall, data: bytes, received_at: float, router: Router
    ) -> None:
        action = call.action
        session.last_message = received_at
        calls_in = self.metrics.calls_in
        try:  # `count`, inlined
            calls_in[action] += 1
        except KeyError:
            calls_in[action] = 1
        if self.events.tap_messages:
            tap(self.events, MessageIn, session.charger_id, action, call.message_id, 2, data)
        handler = router.get(action)
        try:
            if handler is None:
                raise unhandled(action, router.version)
            if not session.admitted and action != "BootNotification" and not self.admits(session):
                raise OcppSecurityError(
                    f"{session.charger_id} is not accepted; it must send BootNotification first"
                )
            reply = handler(session, call if action in router.whole_call else call.payload)
        except OcppError as exc:
            self.send_call_error(
                session, call.message_id, exc.code, exc.description, action, data, received_at
            )
            return
        except Exception:
            log.exception("%s: %s handler failed", session.charger_id, action)
            self.send_call_error(
                session, call.message_id, "InternalError", f"{action} could not be handled", action, data,
                received_at,
            )  # fmt: skip
            return
        if type(reply) is dict:
            self.send_call_result(session, call.message_id, reply, action, data, received_at)
        else:
            asyncio.ensure_future(reply).add_done_callback(  # type: ignore[arg-type]
                lambda done: self._deferred_reply(session, call.message_id, action, data, received_at, done)
            )

    def _deferred_reply(  # noqa: PLR0917 - as send_call_result
        self,
        session: Session,
        message_id: str,
        action: str,
        data: bytes,
        received_at: float,
        done: asyncio.Future[Payload],
    ) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if error is None:
            self.send_call_result(session, message_id, done.result(), action, data, received_at)
        elif isinstance(error, OcppError):
            self.send_call_error(
                session, message_id, error.code, error.description, action, data, received_at
            )
        else:
            log.error("%s: %s failed", session.charger_id, action, exc_info=error)
            self.send_call_error(
                session, message_id, "InternalError", f"{action} could not be completed", action, data,
                received_at,
            )  # fmt: skip

    # --- answers out ---------------------------------------------------------------------------

    def send_call_result(  # noqa: PLR0917 - the hot path: positional arguments
        self,
        session: Session,
        message_id: str,
        payload: Payload,
        action: str,
        request: bytes,
        received_at: float,
    ) -> None:
        if self.validate_outgoing:
            codec = self.codec if session.ocpp_version == "1.6" else self.lanes[session.ocpp_version][0]
            codec.validate(action, payload, response=True)
        data = orjson.dumps([3, message_id, payload])
        session.send(data)
        took = self.message_log.answered(session.charger_id, received_at, request, message_id, action, data)
        metrics = self.metrics  # `Metrics.handled`, inlined for the answers in its first bucket (nearly all)
        if took <= FASTEST_HANDLING:
            metrics.handling_sum += took
            metrics.handling_counts[0] += 1
        else:
            metrics.handled(took)
        if self.events.tap_messages:
            tap(self.events, MessageOut, session.charger_id, action, message_id, 3, data)

    def send_call_error(  # noqa: PLR0917 - as send_call_result
        self,
        session: Session,
        message_id: str,
        code: str,
        description: str,
        action: str | None,
        request: bytes,
        received_at: float,
    ) -> None:
        # The code is of the session's version (2.x: FormatViolation, OccurrenceConstraintViolation...).
        data = encode_call_error(message_id, code, description[:255], version=session.ocpp_version)
        session.send(data)
        self.message_log.exchange(
            session.charger_id, "in", received_at, request, 2, message_id, action, data, 4
        )
        count(self.metrics.call_errors, code)
        if self.events.tap_messages:
            tap(self.events, MessageOut, session.charger_id, action, message_id, 4, data)
