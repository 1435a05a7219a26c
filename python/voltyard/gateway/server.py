"""The picows listeners (ws, and wss when TLS is configured) and the handshake decision.

Transport only: every accepted `ChargerConnection` gets the same narrow `ConnectionContext` (the OCPP
dispatcher and the limits), never the gateway. At the handshake it applies, in order: the websocket
version (426 unless 13), the connection-rate limit (503), the path and charger id (404), the `ocpp1.6`
subprotocol (400), and the charger's security profile with the lock-out of failed logins (401/403/429).
Only then is the connection upgraded.

picows' listener factory sees only the HTTP request, but admission needs the peer address and its TLS
certificate; so each connection's protocol is a thin subclass of picows' own that remembers its transport
before the request is parsed. A password check that needs scrypt is settled before picows reads the
request, off the loop (`voltyard.gateway.deferred`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)
from picows.picows import WSProtocol  # type: ignore[attr-defined]  # not in its stub

from voltyard.config import Config
from voltyard.gateway.admission import LoopBudget, TokenBucket
from voltyard.gateway.authentication import Authenticator, Peer, Verdicts
from voltyard.gateway.connection import ChargerConnection, ConnectionContext
from voltyard.gateway.deferred import DeferredHandshake, Prepare
from voltyard.gateway.handshake import (
    SUBPROTOCOLS,
    HandshakeRefusal,
    charger_id_from_path,
    choose_subprotocol,
)
from voltyard.loop_monitor import LogLimiter, LoopMonitor
from voltyard.metrics import Metrics, count
from voltyard.ocpp.dispatch import Dispatcher

__all__ = ["Gateway"]

log = logging.getLogger(__name__)
_picows_log = logging.getLogger("voltyard.gateway.picows")
# A deep accept queue: after an outage thousands of chargers dial at once, and a full queue drops their SYNs
# into seconds-long retransmission waits before admission control even sees them.
_BACKLOG = 4096
# Connections taken from the accept queue each time a listener is readable (each is cheap: its handshake
# runs later, in steps of its own), so that a reconnect storm drains the queue in a few turns of the loop.
_ACCEPTS_PER_WAKEUP = 256
# After the process runs out of file descriptors, wait this long before accepting again (the queue keeps
# the chargers meanwhile), rather than spinning on a listener that stays readable.
_OUT_OF_FILES_PAUSE_S = 1.0
# Linux only (as in picows); None elsewhere.
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
_OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# New chargers are refused (503, Retry-After) while the event loop is behind by more than this: the chargers
# already connected would otherwise pay for their handshakes with a loop that falls further behind.
_LAG_REFUSE_S = 0.5
# Retry-After of that refusal: spread over these seconds, so that the refused do not return as one herd.
_LAG_RETRY_AFTER_S = (2, 10)
# New chargers are refused (503) while the process's resident memory is over this share of the machine's:
# what is connected keeps working rather than the whole appliance being killed for memory.
_MEMORY_SHARE = 0.75


def _memory_limit() -> int:
    """`_MEMORY_SHARE` of the machine's physical memory in bytes (0, no limit, where it is not known)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * _MEMORY_SHARE)
    except (AttributeError, ValueError, OSError):
        return 0


class _PicowsLog(logging.LoggerAdapter[logging.Logger]):
    """picows' log lines, fit for 10 000 chargers: its INFO lines (one per connection accepted, one per
    disconnection: 20 000 lines for a fleet's reconnect) at DEBUG; its warnings and errors let through a few
    times per period by kind (`LogLimiter`); a handshake it timed out counted in the metrics.

    An adapter rather than a Logger also keeps picows from making a child Logger per connection."""

    def __init__(self, logger: logging.Logger, metrics: Metrics, limiter: LogLimiter) -> None:
        super().__init__(logger, {})
        self._metrics = metrics
        self._limiter = limiter

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:  # noqa: ANN401 - as Logger.log
        if level == logging.INFO:
            if isinstance(msg, str) and msg.startswith("Handshake timeout"):
                count(self._metrics.handshakes, "timed_out")
            level = logging.DEBUG
        elif level >= logging.WARNING:
            held = self._limiter.allow(msg)
            if held is None:
                return
            if held:
                msg = f"{msg} [{held} more like this not logged]"
        if self.logger.isEnabledFor(level):
            self.logger.log(level, msg, *args, **kwargs)


def _peer_of(transport: asyncio.BaseTransport) -> Peer:
    address = transport.get_extra_info("peername")
    ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
    certificate = ssl_object.getpeercert() if ssl_object is not None else None
    return Peer(str(address[0]) if address else "?", ssl_object is not None, certificate or None)


class _PeerAwareProtocol(WSProtocol):  # type: ignore[misc]  # picows' protocol is untyped Cython
    """picows' server protocol, remembering the transport so the handshake can see the peer, and the
    password verdicts reached off the loop before picows read the request."""

    peer: Peer
    verdicts: Verdicts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = _peer_of(transport)
        super().connection_made(transport)


class Gateway:
    """Accepts charger websockets and hands their messages to the OCPP dispatcher."""

    def __init__(
        self,
        config: Config,
        dispatcher: Dispatcher,
        authenticator: Authenticator,
        max_frame_size: Callable[[str], int],
        loop_monitor: LoopMonitor | None = None,
    ) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.authenticator = authenticator
        self.refused_handshakes = 0
        self._loop_monitor = loop_monitor
        # Resident memory (bytes) over which new chargers are refused (0: never); read from the loop monitor.
        self.memory_limit = _memory_limit()
        self._metrics = dispatcher.metrics
        self._picows_log = _PicowsLog(_picows_log, self._metrics, LogLimiter())
        self._refusals_log = LogLimiter()
        admission = config.admission
        # The share of a turn of the event loop that chargers' messages get (see LoopBudget).
        self.budget = LoopBudget(metrics=self._metrics)
        self._context = ConnectionContext(
            dispatcher, admission.message_rate, admission.message_burst, max_frame_size,
            admission.control_frame_rate, admission.control_frame_burst,
            admission.max_unsent_bytes, admission.unsent_timeout, budget=self.budget,
        )  # fmt: skip
        self._connections = TokenBucket(admission.connection_rate, admission.connection_burst)
        self._listeners: list[_Listener] = []

    async def start(
        self, host: str, port: int, tls: ssl.SSLContext | None = None, tls_port: int = 0
    ) -> list[int]:
        """Listen on ws://host:port (and wss://host:tls_port with a TLS context); returns the bound ports."""
        plain = await _Listener.open(host, port, self._protocol, None)
        self._listeners.append(plain)
        if tls is not None:
            self._listeners.append(await _Listener.open(host, tls_port, self._protocol, tls))
        return [listener.port for listener in self._listeners]

    async def stop(self) -> None:
        """Stop listening and close every charger connection."""
        for listener in self._listeners:
            listener.close()
        for session in self.dispatcher.registry.sessions():
            session.close("central system shutting down", WSCloseCode.GOING_AWAY.value)
        for listener in self._listeners:
            await listener.wait_closed()
        self._listeners = []

    @property
    def accepted_connections(self) -> int:
        """TCP connections accepted by the listeners so far (for /metrics)."""
        return sum(listener.accepted for listener in self._listeners)

    def _protocol(self) -> DeferredHandshake:
        health = self.config.health
        protocol: _PeerAwareProtocol | None = None

        def accept(request: WSUpgradeRequest) -> WSUpgradeResponseWithListener:
            assert protocol is not None
            return self._accept(request, protocol.peer, protocol.verdicts)

        def prepare(transport: asyncio.BaseTransport, request: WSUpgradeRequest) -> Awaitable[None] | None:
            assert protocol is not None
            path = request.path.decode("utf-8", "replace")
            slow = self.authenticator.prepare(path, request.headers, _peer_of(transport))
            return None if slow is None else settle(slow)

        async def settle(slow: Awaitable[Verdicts]) -> None:
            assert protocol is not None
            protocol.verdicts = await slow

        protocol = _PeerAwareProtocol(
            None,  # host and port: server side
            None,  # path: server side
            False,  # is_client_side
            accept,
            self._picows_log,
            True,  # disconnect_on_exception (on_ws_frame never raises; a bug must not leave a zombie)
            10.0,  # websocket_handshake_timeout
            health.ping_interval > 0,  # enable_auto_ping: a dead TCP peer is found by missing pongs
            health.ping_interval or 60.0,
            health.ping_timeout,
            WSAutoPingStrategy.PING_WHEN_IDLE,
            False,  # enable_auto_pong: the connection answers pings itself, held to a rate
            self.config.ocpp.max_frame_size,
            None,  # extra_headers
            # Most OCPP frames are under 1 KB: start small (the buffer grows on demand), so that 10 000 idle
            # connections do not hold 16 KB each.
            2048,
        )
        protocol.verdicts = {}
        return _CountedHandshake(protocol, prepare, self._metrics)

    # --- handshake -----------------------------------------------------------------------------

    def _admit_under_load(self, monitor: LoopMonitor) -> None:
        """Refuse a new charger (503, Retry-After spread) while the loop is behind or memory is short."""
        if monitor.lagging(_LAG_REFUSE_S):
            why = f"the central system is over {_LAG_REFUSE_S * 1000:.0f} ms behind"
        elif self.memory_limit and monitor.rss_bytes > self.memory_limit:
            why = f"the central system holds over {self.memory_limit >> 20} MB"
        else:
            return
        raise HandshakeRefusal(
            HTTPStatus.SERVICE_UNAVAILABLE,
            f"overloaded: {why}",
            retry_after=random.randint(*_LAG_RETRY_AFTER_S),  # a spread, not a secret
        )

    def _accept(
        self, request: WSUpgradeRequest, peer: Peer, verdicts: Verdicts
    ) -> WSUpgradeResponseWithListener:
        try:
            version = request.headers.get("Sec-WebSocket-Version")
            if version != "13":
                # RFC 6455 §4.4: 426 naming the one version we speak (picows would upgrade drafts 7 and 8).
                raise HandshakeRefusal(
                    HTTPStatus.UPGRADE_REQUIRED,
                    f"websocket version {version!r} is not supported: use 13",
                    version="13",
                )
            monitor = self._loop_monitor
            if monitor is not None:
                self._admit_under_load(monitor)
            if not self._connections.take():
                wait = max(1, round(self._connections.wait_time()))
                raise HandshakeRefusal(
                    HTTPStatus.SERVICE_UNAVAILABLE, "too many connections at once", retry_after=wait
                )
            charger_id = charger_id_from_path(request.path.decode("utf-8", "replace"))
            ocpp_version = choose_subprotocol(request.headers, self.config.ocpp.versions)
            profile = self.authenticator.check(charger_id, request.headers, peer, verdicts)
        except HandshakeRefusal as refusal:
            self.refused_handshakes += 1
            count(self._metrics.handshakes, "refused")
            held = self._refusals_log.allow(refusal.status)  # a storm of refusals: a few lines per status
            if held is not None:
                log.info(
                    "handshake from %s refused (%d): %s%s", peer.address, refusal.status, refusal.reason,
                    f" [{held} more refusals with this status not logged]" if held else "",
                )  # fmt: skip
            response = WSUpgradeResponse.create_error_response(
                refusal.status, refusal.reason.encode(), extra_headers=refusal.headers()
            )
            return WSUpgradeResponseWithListener(response, None)
        response = WSUpgradeResponse.create_101_response(
            extra_headers={"Sec-WebSocket-Protocol": SUBPROTOCOLS[ocpp_version]}
        )
        connection = ChargerConnection(charger_id, self._context, peer.address, profile, ocpp_version)
        count(self._metrics.handshakes, "accepted")
        return WSUpgradeResponseWithListener(response, connection)


class _CountedHandshake(DeferredHandshake):
    """A new connection's first bytes (`DeferredHandshake`), counting those that never sent a request."""

    def __init__(self, inner: _PeerAwareProtocol, prepare: Prepare, metrics: Metrics) -> None:
        super().__init__(inner, prepare)
        self._metrics = metrics

    def _too_slow(self) -> None:
        count(self._metrics.handshakes, "timed_out")
        super()._too_slow()


class _Listener:
    """One listening socket whose accept queue is drained by up to `_ACCEPTS_PER_WAKEUP` connections each
    time it is readable.

    Why not `loop.create_server`: uvloop's libuv accepts one connection per poll of the loop. A poll comes
    once per turn of the loop, and under load a turn carries a full budget of chargers' messages (tens of
    milliseconds), so a reconnect storm was accepted at ~40 connections a second while the accept queue
    stayed full (500 of 500 attempts in flight waited there; 2 000 chargers took 30-45 s against the
    floor's 1.5-4 s). Each accepted socket is handed to the loop (`connect_accepted_socket`) as
    `create_server` would have done, TLS included.
    """

    def __init__(
        self,
        sockets: list[socket.socket],
        factory: Callable[[], asyncio.BaseProtocol],
        tls: ssl.SSLContext | None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._sockets = sockets
        self._factory = factory
        self._tls = tls
        self._handing_over: set[asyncio.Task[object]] = set()
        self._closed = False
        self.accepted = 0
        for sock in sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    @classmethod
    async def open(
        cls, host: str, port: int, factory: Callable[[], asyncio.BaseProtocol], tls: ssl.SSLContext | None
    ) -> _Listener:
        """Bind every address of `host` (as `create_server` does); raises OSError naming one that failed."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host or None, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        sockets: list[socket.socket] = []
        try:
            for family, kind, proto, _, address in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    sock.bind(address)
                except OSError as exc:
                    # The words of asyncio's create_server, which the start-up error report reads.
                    raise OSError(
                        exc.errno, f"error while attempting to bind on address {address!r}: {exc.strerror}"
                    ) from None
                sock.listen(_BACKLOG)
                sock.setblocking(False)
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        return cls(sockets, factory, tls)

    @property
    def port(self) -> int:
        return int(self._sockets[0].getsockname()[1])

    def _accept(self, listening: socket.socket) -> None:
        for _ in range(_ACCEPTS_PER_WAKEUP):
            try:
                sock, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_FILES:
                    log.debug("accept on %s failed: %s", listening.getsockname(), exc)  # the peer left first
                    continue
                log.error(
                    "cannot accept charger connections: %s; retrying in %.0f s", exc, _OUT_OF_FILES_PAUSE_S
                )
                self._loop.remove_reader(listening.fileno())
                self._loop.call_later(_OUT_OF_FILES_PAUSE_S, self._resume, listening)
                return
            self.accepted += 1
            sock.setblocking(False)
            sock.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
            )  # frames are small and answered at once
            if _QUICKACK is not None:
                # picows sets it in its connection_made, which behind DeferredHandshake comes only after the
                # request head; set here, the socket has it from its first segment, as with picows alone
                # (bench/README.md: CPU per call against the previous main).
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            task: asyncio.Task[object] = self._loop.create_task(
                self._loop.connect_accepted_socket(self._factory, sock, ssl=self._tls)
            )
            self._handing_over.add(task)
            task.add_done_callback(self._handed_over)

    def _resume(self, listening: socket.socket) -> None:
        if not self._closed:
            self._loop.add_reader(listening.fileno(), self._accept, listening)

    def _handed_over(self, task: asyncio.Task[object]) -> None:
        self._handing_over.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A TLS handshake that failed or a peer gone before its transport was made: its own business.
            log.debug("a charger connection failed before its websocket handshake: %s", task.exception())

    def close(self) -> None:
        """Stop accepting; a connection still being handed over (a TLS handshake, which may take up to a
        minute) is dropped; those already handed over carry on (the gateway closes them)."""
        self._closed = True
        for sock in self._sockets:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        for task in self._handing_over:
            task.cancel()  # its transport is closed with it

    async def wait_closed(self) -> None:
        """Wait until the connections being handed over when it closed are dropped."""
        if self._handing_over:
            await asyncio.wait(self._handing_over)
