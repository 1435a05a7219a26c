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
import logging
import ssl
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)
from picows.picows import WSProtocol  # type: ignore[attr-defined]  # not in its stub

from voltyard.config import Config
from voltyard.gateway.admission import TokenBucket
from voltyard.gateway.authentication import Authenticator, Peer, Verdicts
from voltyard.gateway.connection import ChargerConnection, ConnectionContext
from voltyard.gateway.deferred import DeferredHandshake
from voltyard.gateway.handshake import (
    OCPP_SUBPROTOCOL,
    HandshakeRefusal,
    charger_id_from_path,
    offers_subprotocol,
)
from voltyard.ocpp.dispatch import Dispatcher

__all__ = ["Gateway"]

log = logging.getLogger(__name__)
_picows_log = logging.getLogger("voltyard.gateway.picows")
_BACKLOG = 4096


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
    ) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.authenticator = authenticator
        self.refused_handshakes = 0
        admission = config.admission
        self._context = ConnectionContext(
            dispatcher, admission.message_rate, admission.message_burst, max_frame_size,
            admission.control_frame_rate, admission.control_frame_burst,
            admission.max_unsent_bytes, admission.unsent_timeout,
        )  # fmt: skip
        self._connections = TokenBucket(admission.connection_rate, admission.connection_burst)
        self._servers: list[asyncio.Server] = []

    async def start(
        self, host: str, port: int, tls: ssl.SSLContext | None = None, tls_port: int = 0
    ) -> list[int]:
        """Listen on ws://host:port (and wss://host:tls_port with a TLS context); returns the bound ports."""
        loop = asyncio.get_running_loop()
        # A deep accept queue: after an outage thousands of chargers dial at once, and a full queue drops
        # their SYNs into seconds-long retransmission waits before admission control even sees them.
        self._servers.append(await loop.create_server(self._protocol, host, port, backlog=_BACKLOG))
        if tls is not None:
            self._servers.append(
                await loop.create_server(self._protocol, host, tls_port, ssl=tls, backlog=_BACKLOG)
            )
        return [server.sockets[0].getsockname()[1] for server in self._servers]

    async def stop(self) -> None:
        """Stop listening and close every charger connection."""
        for server in self._servers:
            server.close()
        for session in self.dispatcher.registry.sessions():
            session.close("central system shutting down", WSCloseCode.GOING_AWAY.value)
        for server in self._servers:
            await server.wait_closed()
        self._servers = []

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
            _picows_log,
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
        return DeferredHandshake(protocol, prepare)

    # --- handshake -----------------------------------------------------------------------------

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
            if not self._connections.take():
                wait = max(1, round(self._connections.wait_time()))
                raise HandshakeRefusal(
                    HTTPStatus.SERVICE_UNAVAILABLE, "too many connections at once", retry_after=wait
                )
            charger_id = charger_id_from_path(request.path.decode("utf-8", "replace"))
            if not offers_subprotocol(request.headers):
                raise HandshakeRefusal(
                    HTTPStatus.BAD_REQUEST, f"the handshake must offer the {OCPP_SUBPROTOCOL} subprotocol"
                )
            profile = self.authenticator.check(charger_id, request.headers, peer, verdicts)
        except HandshakeRefusal as refusal:
            self.refused_handshakes += 1
            log.info("handshake from %s refused (%d): %s", peer.address, refusal.status, refusal.reason)
            response = WSUpgradeResponse.create_error_response(
                refusal.status, refusal.reason.encode(), extra_headers=refusal.headers()
            )
            return WSUpgradeResponseWithListener(response, None)
        response = WSUpgradeResponse.create_101_response(
            extra_headers={"Sec-WebSocket-Protocol": OCPP_SUBPROTOCOL}
        )
        connection = ChargerConnection(charger_id, self._context, peer.address, profile)
        return WSUpgradeResponseWithListener(response, connection)
