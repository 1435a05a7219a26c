"""One charger's websocket: frames in, size limit, rate limits with back-pressure, frames out.

Transport only: a complete message goes to the OCPP dispatcher (`voltyard.ocpp.dispatch`), which answers
through `send`. The connection is the charger's `voltyard.ocpp.session.Session`, and it gets a narrow
frozen context (the dispatcher and its limits), never the gateway. Nothing raises out of `on_ws_frame`.

Memory per connection stays bounded whatever the charger does (issue 18). A charger is paused (its socket
is not read, so TCP pushes back on it) while it is over its message rate, over its control-frame rate, or
while it leaves its answers unread; it is closed when it goes beyond what pausing can absorb: more unsent
bytes than `max_unsent_bytes` or unsent for `unsent_timeout` seconds, a burst of pings far over their
rate, a message (whole or still in fragments) over its size limit or in too many fragments, or a frame
that breaks the framing rules. Each closed connection logs one line, and /metrics counts pauses and closes
by reason.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from voltyard.errors import ChargerOfflineError
from voltyard.gateway.admission import LoopBudget, TokenBucket
from voltyard.metrics import count
from voltyard.ocpp.session import CLOSE_NORMAL

if TYPE_CHECKING:
    from voltyard.metrics import Metrics
    from voltyard.ocpp.codec import OcppVersion
    from voltyard.ocpp.dispatch import Dispatcher

__all__ = ["MAX_FRAGMENTS", "ChargerConnection", "ConnectionContext"]

log = logging.getLogger(__name__)

# Bytes held for a charger over its message rate before it is closed. Its socket is not read while it
# is over, so the backlog holds at most what one read delivered (bounded by the kernel's receive buffer,
# a few MiB): this is a last guard, not a limit a charger meets by sending fast.
_MAX_BACKLOG_BYTES = 32 * 1024 * 1024
# A fragmented message may come in at most this many frames (its size is bounded by max_frame_size).
MAX_FRAGMENTS = 1024
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE
_PING = WSMsgType.PING
_PONG = WSMsgType.PONG

# Why a connection is not read now: bits of `_paused`, and the reason /metrics counts it under.
_OVER_RATE = 1
_UNSENT = 2
_OVER_CONTROL = 4
_OVER_BUDGET = 8  # the event loop's turn has done its share of messages (LoopBudget)
_PAUSE_REASONS = {
    _OVER_RATE: "message_rate",
    _UNSENT: "unsent",
    _OVER_CONTROL: "control_frames",
    _OVER_BUDGET: "loop_budget",
}


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What every connection shares: where its messages go and the limits it enforces."""

    dispatcher: Dispatcher
    # Messages per second sustained, and the burst absorbed at once, per connection.
    message_rate: float
    message_burst: float
    # The largest message a charger may send (per charger: a leniency rule may raise it).
    max_frame_size: Callable[[str], int]
    # Pings and pongs per second, and the burst, per connection (config: admission.control_frame_*).
    control_frame_rate: float = 5.0
    control_frame_burst: float = 20.0
    # Unsent answers a charger may leave unread, in bytes and in seconds, before it is closed.
    max_unsent_bytes: int = 1024 * 1024
    unsent_timeout: float = 30.0
    # The work every connection's messages share per turn of the event loop (see LoopBudget).
    budget: LoopBudget = field(default_factory=LoopBudget)


class ChargerConnection(WSListener):
    """The session of one charger connection (one object per socket)."""

    __slots__ = (
        "_backlog", "_backlog_bytes", "_budget", "_context", "_control", "_dispatcher", "_fragment_count",
        "_fragments", "_metrics", "_over_control", "_paused", "_pong", "_rate", "_ready", "_receive",
        "_unsent_timer", "_writing_paused", "admitted", "charger_id", "last_message", "max_frame_size",
        "ocpp_version", "profile", "source", "transport",
    )  # fmt: skip

    def __init__(
        self,
        charger_id: str,
        context: ConnectionContext,
        source: str = "?",
        profile: int = 0,
        ocpp_version: OcppVersion = "1.6",
    ) -> None:
        self.charger_id = charger_id
        self.ocpp_version = ocpp_version
        self.source = source
        self.profile = profile
        self._context = context
        self._dispatcher = context.dispatcher
        self._metrics: Metrics = context.dispatcher.metrics
        # Bound once, for this session's OCPP version: one attribute read per message, no version compared.
        self._receive = context.dispatcher.receiver(ocpp_version)
        self._rate = TokenBucket(context.message_rate, context.message_burst)
        self._control = TokenBucket(context.control_frame_rate, context.control_frame_burst)
        self._budget = context.budget
        self._backlog: collections.deque[bytes] | None = None
        self._backlog_bytes = 0
        self.max_frame_size = context.max_frame_size(charger_id)
        self.last_message = time.time()
        # None once the connection is gone or failed by us: nothing more is read from it or sent to it.
        self.transport: WSTransport | None = None
        self._ready: asyncio.Future[None] | None = None
        self._fragments: bytearray | None = None
        self._fragment_count = 0
        self._paused = 0  # bits: why the socket is not read now (_OVER_RATE, _UNSENT, _OVER_CONTROL)
        self._writing_paused = False
        self._unsent_timer: asyncio.TimerHandle | None = None
        self._pong: bytes | None = None  # the latest ping's payload, while pings are over their rate
        self._over_control = 0
        # Set once the charger is known to be accepted, so that the per-frame check is one attribute read.
        self.admitted = False

    # --- picows callbacks ----------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self._dispatcher.opened(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self._release()
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        self._dispatcher.closed(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            # No extension is ever negotiated, so a reserved bit means a frame we cannot read (RFC 6455
            # §5.2: fail the connection); picows hands such frames over as if they were plain.
            self._fail(WSCloseCode.PROTOCOL_ERROR, "reserved bit set without an extension", "protocol_error")
            return
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if frame.fin:
                self.receive(frame.get_payload_as_bytes())
            else:
                self._first_fragment(frame)
        elif msg_type is _CONTINUATION:
            self._continuation(frame)
        elif msg_type is _PING:
            self._control_frame(frame.get_payload_as_bytes())
        elif msg_type is _PONG:
            self._control_frame(None)
        elif msg_type is _CLOSE and self.transport is not None:
            self.transport = None
            transport.send_close(frame.get_close_code())
            transport.disconnect(graceful=_drained(transport))

    def pause_writing(self) -> None:
        """picows: the socket's write buffer passed its high-water mark (64 KiB): the charger is not
        reading its answers. Stop reading it until they drain, and close it if they do not."""
        if self.transport is None or self._writing_paused:
            return
        self._writing_paused = True
        self._pause(_UNSENT)
        self._unsent_timer = asyncio.get_running_loop().call_later(
            self._context.unsent_timeout, self._unsent_too_long
        )

    def resume_writing(self) -> None:
        """picows: the write buffer drained below its low-water mark."""
        if not self._writing_paused:
            return
        self._writing_paused = False
        if self._unsent_timer is not None:
            self._unsent_timer.cancel()
            self._unsent_timer = None
        self._resume(_UNSENT)

    # --- frames --------------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Handle one complete OCPP-J message."""
        if len(data) > self.max_frame_size:
            self._fail(
                WSCloseCode.MESSAGE_TOO_BIG, f"message over {self.max_frame_size} bytes", "message_too_big",
                f"{len(data)}-byte message over its limit of {self.max_frame_size}",
            )  # fmt: skip
            return
        if self._backlog is not None:
            self._queue(data)
            return
        budget = self._budget
        left = budget.left = budget.left - 1
        if left < 0 and self.admitted and budget.over():
            # This turn of the loop has done its share: hold the message to a later turn and stop reading.
            # Chargers not yet admitted (a handshake's BootNotification) go first, never held here.
            if self.transport is None:
                return  # failed by us: what was read after that is not handled
            self._backlog = collections.deque((data,))
            self._backlog_bytes = len(data)
            self._pause(_OVER_BUDGET)
            budget.defer(self._drain)
            return
        if not self._rate.take():
            self._backlog = collections.deque()
            self._queue(data)
            return
        self._receive(self, data)

    def _first_fragment(self, frame: WSFrame) -> None:
        if self._fragments is not None:
            # RFC 6455 §5.4: a message's fragments are not interleaved with another data message.
            self._fail(
                WSCloseCode.PROTOCOL_ERROR, "new message before the previous one ended", "protocol_error"
            )
            return
        if self.transport is None:
            return
        self._fragments = bytearray(frame.get_payload_as_memoryview())
        self._fragment_count = 1

    def _continuation(self, frame: WSFrame) -> None:
        """One more fragment: the unfinished message is held to the size limit as it grows (not only once
        it ends), and to MAX_FRAGMENTS frames."""
        fragments = self._fragments
        if fragments is None:
            self._fail(WSCloseCode.PROTOCOL_ERROR, "continuation frame without a message", "protocol_error")
            return
        fragments += frame.get_payload_as_memoryview()
        self._fragment_count += 1
        if len(fragments) > self.max_frame_size:
            self._fail(
                WSCloseCode.MESSAGE_TOO_BIG, f"message over {self.max_frame_size} bytes", "message_too_big",
                f"fragmented message past its limit of {self.max_frame_size} bytes",
            )  # fmt: skip
        elif self._fragment_count > MAX_FRAGMENTS:
            self._fail(WSCloseCode.MESSAGE_TOO_BIG, f"message in over {MAX_FRAGMENTS} fragments", "fragments")
        elif frame.fin:
            self._fragments = None
            self.receive(bytes(fragments))

    def _control_frame(self, ping: bytes | None) -> None:
        """A ping (its payload) or an unsolicited pong (None), held to the control-frame rate. Over it, the
        socket is not read until a token is due, and then one pong answers the latest ping (RFC 6455
        §5.5.3 allows it); more than the burst beyond the rate at once is a flood, and closes it."""
        transport = self.transport
        if transport is None:
            return
        if not self._paused & _OVER_CONTROL and self._control.take():
            if ping is not None:
                transport.send_pong(ping)
            return
        if ping is not None:
            self._pong = ping
        self._over_control += 1
        if self._over_control > self._context.control_frame_burst:
            self._fail(WSCloseCode.POLICY_VIOLATION, "control frames far over their rate", "control_frames")
            return
        if not self._paused & _OVER_CONTROL:
            self._pause(_OVER_CONTROL)
            asyncio.get_running_loop().call_later(self._control.wait_time(), self._control_due)

    def _control_due(self) -> None:
        transport = self.transport
        if transport is None:
            return
        if not self._control.take():
            asyncio.get_running_loop().call_later(self._control.wait_time(), self._control_due)
            return
        if self._pong is not None:
            transport.send_pong(self._pong)
            self._pong = None
        self._over_control = 0
        self._resume(_OVER_CONTROL)

    # --- sending -------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Send one text frame; dropped when the socket is already closed."""
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.send(_TEXT, data)
            if self._writing_paused:  # the charger is not reading: is it past what it may leave unread?
                self._check_unsent(transport)

    def _check_unsent(self, transport: WSTransport) -> None:
        unsent = transport.underlying_transport.get_write_buffer_size()
        if unsent > self._context.max_unsent_bytes:
            self._fail(
                WSCloseCode.POLICY_VIOLATION, "answers left unread", "unsent",
                f"{unsent} bytes of answers unread, over the limit of {self._context.max_unsent_bytes}",
            )  # fmt: skip

    def _unsent_too_long(self) -> None:
        self._unsent_timer = None
        if self._writing_paused:
            self._fail(
                WSCloseCode.POLICY_VIOLATION, "answers left unread", "unsent",
                f"answers unread for {self._context.unsent_timeout:g} s",
            )  # fmt: skip

    def _queue(self, data: bytes) -> None:
        """Over its message rate: hold the message, stop reading the socket (TCP pushes back on the
        charger) and handle the backlog as tokens come due. Other chargers are not slowed."""
        backlog = self._backlog
        assert backlog is not None
        if self.transport is None:
            return  # failed by us: what was read after that is not handled
        self._backlog_bytes += len(data)
        if self._backlog_bytes > _MAX_BACKLOG_BYTES:
            self._fail(
                WSCloseCode.POLICY_VIOLATION, "message rate limit exceeded", "message_rate",
                f"over {_MAX_BACKLOG_BYTES} bytes behind its rate limit",
            )  # fmt: skip
            return
        backlog.append(data)
        if len(backlog) == 1:
            self._pause(_OVER_RATE)
            asyncio.get_running_loop().call_later(self._rate.wait_time(), self._drain)

    def _drain(self) -> None:
        backlog = self._backlog
        if backlog is None or self.transport is None or self.transport.is_disconnected:
            return
        budget = self._budget
        while backlog and budget.left > 0 and self._rate.take():
            budget.left -= 1
            data = backlog.popleft()
            self._backlog_bytes -= len(data)
            self._receive(self, data)
            if self.transport is None:  # the message closed the connection
                return
        if backlog:
            if budget.left <= 0:
                budget.defer(self._drain)  # this turn's share is spent: the next one goes on
            else:
                asyncio.get_running_loop().call_later(self._rate.wait_time(), self._drain)
            return
        self._backlog = None
        self._backlog_bytes = 0
        self._resume(_OVER_RATE | _OVER_BUDGET)

    # --- pausing and closing -------------------------------------------------------------------

    def _pause(self, why: int) -> None:
        """Stop reading the socket for reason `why` (a bit of `_paused`); counted in /metrics."""
        if self.transport is None:
            return
        if not self._paused:
            self.transport.underlying_transport.pause_reading()
        self._paused |= why
        count(self._metrics.connections_paused, _PAUSE_REASONS[why])
        log.debug("%s: not read for now (%s)", self.charger_id, _PAUSE_REASONS[why])

    def _resume(self, why: int) -> None:
        """Reason `why` is over; the socket is read again once no reason is left."""
        self._paused &= ~why
        if not self._paused and self.transport is not None and not self.transport.is_disconnected:
            self.transport.underlying_transport.resume_reading()

    def _fail(self, code: WSCloseCode, reason: str, counter: str, detail: str | None = None) -> None:
        """Close the connection for what the charger did: one log line, one count under `counter`. From
        here on nothing more it sent is handled and nothing is sent to it, and what it held is released.
        A charger that does not read its answers is cut off at once (abort): a graceful close would wait
        for it to read them, holding them in memory meanwhile."""
        transport = self.transport
        if transport is None:
            return
        self.transport = None
        log.warning("%s: %s; closing", self.charger_id, detail or reason)
        count(self._metrics.connections_closed, counter)
        transport.send_close(code, reason.encode()[:120])
        transport.disconnect(graceful=_drained(transport))
        self._release()
        # What picows still hands over from the same read goes to `_queue`, which drops it.
        self._backlog = collections.deque()

    def _release(self) -> None:
        """Drop what the connection holds: its backlog, an unfinished message, a pending pong, timers."""
        if self._backlog is not None:
            self._backlog.clear()
        self._backlog_bytes = 0
        self._fragments = None
        self._pong = None
        if self._unsent_timer is not None:
            self._unsent_timer.cancel()
            self._unsent_timer = None

    def close(self, reason: str, code: int = CLOSE_NORMAL) -> None:
        """Close the websocket (e.g. replaced by a newer connection, or shutdown)."""
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.send_close(WSCloseCode(code), reason.encode()[:120])
            transport.disconnect(graceful=_drained(transport))

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


def _drained(transport: WSTransport) -> bool:
    """Whether nothing waits in the socket's write buffer: then a close may be graceful (the close frame
    goes out first); otherwise the peer is not reading, and waiting for it would hold the buffer."""
    return not transport.underlying_transport.get_write_buffer_size()
