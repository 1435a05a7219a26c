"""A connection's first bytes, read before picows sees them, so that admission may await before the upgrade.

picows decides a websocket upgrade synchronously, in its listener factory (picows 2.3 has no asynchronous
factory), but a password not known by its keyed hash needs scrypt, which must not run on the event loop.
So each new connection first talks to a `DeferredHandshake`: it reads the HTTP request head (parsed by
picows' own parser), asks `prepare` for the slow part of admission (a password check in a hashing thread),
and once that is done hands the transport to picows' protocol (`transport.set_protocol`, which asyncio's,
uvloop's and both TLS transports support) and replays the bytes it read. From then on the transport talks
to picows directly: nothing is added to the per-frame path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from picows import WSUpgradeRequest
from picows.picows import _parse_http_request  # type: ignore[attr-defined]  # the parser picows itself uses

__all__ = ["DeferredHandshake", "PicowsProtocol", "Prepare"]

log = logging.getLogger(__name__)

# As picows: a request head larger than this is refused by picows itself once handed over.
_MAX_HEAD = 16 * 1024
_READ_SIZE = 4096
# A charger that sends no complete request head within this time is disconnected (as picows would).
_HEAD_TIMEOUT = 10.0


class PicowsProtocol(Protocol):
    """What of picows' server protocol is used here (it is untyped Cython)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...
    def get_buffer(self, sizehint: int) -> memoryview: ...
    def buffer_updated(self, nbytes: int) -> None: ...


# Given the transport and the parsed request: what to await before picows decides, or None for nothing.
Prepare = Callable[[asyncio.BaseTransport, WSUpgradeRequest], Awaitable[object] | None]


class DeferredHandshake(asyncio.BufferedProtocol):
    """Holds a new connection until `prepare` has settled what must be settled off the loop."""

    def __init__(self, inner: PicowsProtocol, prepare: Prepare) -> None:
        self._inner = inner
        self._prepare = prepare
        self._transport: asyncio.BaseTransport | None = None
        self._scratch = bytearray(_READ_SIZE)
        self._received = bytearray()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._timer = asyncio.get_running_loop().call_later(_HEAD_TIMEOUT, self._too_slow)

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self._scratch)

    def buffer_updated(self, nbytes: int) -> None:
        self._received += self._scratch[:nbytes]
        if self._task is not None:
            if len(self._received) > _MAX_HEAD:  # more than a request while we wait: not a charger
                self._abort()
            return
        end = self._received.find(b"\r\n\r\n")
        if end < 0:
            if len(self._received) >= _MAX_HEAD:
                self._hand_over()  # picows answers it (it refuses heads this large)
            return
        try:
            request = _parse_http_request(bytes(self._received[:end]))
        except (RuntimeError, ValueError):  # picows answers a malformed request itself, once handed over
            self._hand_over()
            return
        slow = self._prepare(self._transport_or_fail(), request)
        if slow is None:
            self._hand_over()
            return
        # The head is complete: the timer guards against chargers that never send one, not against a
        # password check waiting for a hashing thread (bounded by Authenticator's cap on pending checks).
        self._cancel_timer()
        self._task = asyncio.get_running_loop().create_task(self._await(slow))

    async def _await(self, slow: Awaitable[object]) -> None:
        try:
            await slow
        except Exception:
            log.exception("handshake preparation failed")  # picows' factory still decides (without it)
        transport = self._transport
        if transport is not None and not transport.is_closing():
            self._hand_over()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _hand_over(self) -> None:
        self._cancel_timer()
        transport = self._transport_or_fail()
        inner = self._inner
        transport.set_protocol(inner)  # type: ignore[arg-type]  # picows' protocol is an asyncio protocol
        inner.connection_made(transport)
        data = memoryview(bytes(self._received))
        self._received = bytearray()
        while data and not transport.is_closing():
            buffer = inner.get_buffer(-1)
            size = min(len(buffer), len(data))
            buffer[:size] = data[:size]
            inner.buffer_updated(size)
            data = data[size:]

    def _transport_or_fail(self) -> asyncio.BaseTransport:
        assert self._transport is not None, "bytes before connection_made"
        return self._transport

    def _too_slow(self) -> None:
        self._timer = None
        # DEBUG: one line per connection would flood the log when thousands of dead peers time out at once
        # (the gateway counts them for /metrics).
        log.debug("no complete handshake within %.0f s: disconnecting", _HEAD_TIMEOUT)
        self._abort()

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()  # type: ignore[attr-defined]  # every stream transport has it

    def eof_received(self) -> bool:
        return False  # a charger that stops sending before its request is complete is gone

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._task is not None:
            self._task.cancel()
        self._transport = None
