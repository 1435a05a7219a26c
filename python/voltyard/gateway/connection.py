"""One charger's websocket: frames in, size limit, rate limit with back-pressure, frames out.

Transport only: a complete message goes to the OCPP dispatcher (`voltyard.ocpp.dispatch`), which answers
through `send`. The connection is the charger's `voltyard.ocpp.session.Session`, and it gets a narrow
frozen context (the dispatcher and its limits), never the gateway. Nothing raises out of `on_ws_frame`.
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
from voltyard.ocpp.session import CLOSE_NORMAL

if TYPE_CHECKING:
    from voltyard.ocpp.dispatch import Dispatcher

__all__ = ["ChargerConnection", "ConnectionContext"]

log = logging.getLogger(__name__)

# Messages held for a charger over its rate limit before it is disconnected.
_MAX_BACKLOG = 1000
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What every connection shares: where its messages go and the limits it enforces."""

    dispatcher: Dispatcher
    # Messages per second sustained, and the burst absorbed at once, per connection.
    message_rate: float
    message_burst: float
    # The largest message a charger may send (per charger: a leniency rule may raise it).
    max_frame_size: Callable[[str], int]
    # The work every connection's messages share per turn of the event loop (see LoopBudget).
    budget: LoopBudget = field(default_factory=LoopBudget)


class ChargerConnection(WSListener):
    """The session of one charger connection (one object per socket)."""

    __slots__ = (
        "_backlog", "_budget", "_dispatcher", "_fragments", "_rate", "_ready", "_receive", "admitted",
        "charger_id", "last_message", "max_frame_size", "profile", "source", "transport",
    )  # fmt: skip

    def __init__(
        self, charger_id: str, context: ConnectionContext, source: str = "?", profile: int = 0
    ) -> None:
        self.charger_id = charger_id
        self.source = source
        self.profile = profile
        self._dispatcher = context.dispatcher
        self._receive = context.dispatcher.receive  # bound once: one attribute read per message
        self._rate = TokenBucket(context.message_rate, context.message_burst)
        self._budget = context.budget
        self._backlog: collections.deque[bytes] | None = None
        self.max_frame_size = context.max_frame_size(charger_id)
        self.last_message = time.time()
        self.transport: WSTransport | None = None
        self._ready: asyncio.Future[None] | None = None
        self._fragments: list[bytes] | None = None
        # Set once the charger is known to be accepted, so that the per-frame check is one attribute read.
        self.admitted = False

    # --- picows callbacks ----------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self._dispatcher.opened(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        self._dispatcher.closed(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            # No extension is ever negotiated, so a reserved bit means a frame we cannot read (RFC 6455
            # §5.2: fail the connection); picows hands such frames over as if they were plain.
            log.warning("%s: frame with a reserved bit set and no extension, closing", self.charger_id)
            transport.send_close(WSCloseCode.PROTOCOL_ERROR, b"reserved bit set without an extension")
            transport.disconnect()
            return
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
            self.close(f"message over {self.max_frame_size} bytes", WSCloseCode.MESSAGE_TOO_BIG.value)
            return
        if self._backlog is not None:
            self._queue(data)
            return
        budget = self._budget
        budget.left -= 1
        if budget.left < 0 and self.admitted and budget.over():
            # This turn of the loop has done its share: hold the message to a later turn and stop reading.
            # Chargers not yet admitted (a handshake's BootNotification) go first, never held here.
            self._backlog = collections.deque((data,))
            if self.transport is not None:
                self.transport.underlying_transport.pause_reading()
            budget.defer(self._drain)
            return
        if not self._rate.take():
            self._backlog = collections.deque()
            self._queue(data)
            return
        self._receive(self, data)

    # --- sending -------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Send one text frame; dropped when the socket is already closed."""
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.send(_TEXT, data)

    def _queue(self, data: bytes) -> None:
        """Over its message rate: hold the message, stop reading the socket (TCP pushes back on the
        charger) and handle the backlog as tokens come due. Other chargers are not slowed."""
        assert self._backlog is not None
        if len(self._backlog) >= _MAX_BACKLOG:
            log.warning("%s: over %d messages behind its rate limit; closing", self.charger_id, _MAX_BACKLOG)
            self.close("message rate limit exceeded", WSCloseCode.POLICY_VIOLATION.value)
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
        budget = self._budget
        while backlog and budget.left > 0 and self._rate.take():
            budget.left -= 1
            self._receive(self, backlog.popleft())
        if backlog:
            if budget.left <= 0:
                budget.defer(self._drain)  # this turn's share is spent: the next one goes on
            else:
                asyncio.get_running_loop().call_later(self._rate.wait_time(), self._drain)
            return
        self._backlog = None
        self.transport.underlying_transport.resume_reading()

    def close(self, reason: str, code: int = CLOSE_NORMAL) -> None:
        """Close the websocket (e.g. replaced by a newer connection, or shutdown)."""
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send_close(WSCloseCode(code), reason.encode()[:120])
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
