"""The picows listeners (ws, and wss when TLS is configured), the handshake decision, and the context every
connection shares.

`Gateway` is what every `ChargerConnection` reaches for: the codec, the router, the message log and the
charger registry. At the handshake it applies, in order: the connection-rate limit (503), the lock-out of
addresses with too many failed logins (429), the path and charger id (404), the `ocpp1.6` subprotocol
(400), and the charger's security profile (401/403). Only then is the connection upgraded.

picows' listener factory sees only the HTTP request, but admission needs the peer address and its TLS
certificate; so each connection's protocol is a thin subclass of picows' own that remembers its transport
before the request is parsed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from http import HTTPStatus

from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)
from picows.picows import WSProtocol  # type: ignore[attr-defined]  # not in its stub

from voltyard._native import OcppCodec
from voltyard.config import Config
from voltyard.domain.chargers import Chargers
from voltyard.errors import OcppError
from voltyard.events import Event, EventBus
from voltyard.gateway.admission import TokenBucket
from voltyard.gateway.authentication import Authenticator, Peer
from voltyard.gateway.connection import ChargerConnection
from voltyard.gateway.handshake import (
    OCPP_SUBPROTOCOL,
    HandshakeRefusal,
    charger_id_from_path,
    offers_subprotocol,
)
from voltyard.gateway.registry import Registry
from voltyard.metrics import Metrics, count
from voltyard.ocpp.leniency import Leniency
from voltyard.ocpp.router import Router
from voltyard.store.message_log import MessageLog

__all__ = ["Gateway"]

log = logging.getLogger(__name__)
_picows_log = logging.getLogger("voltyard.gateway.picows")
_BACKLOG = 4096


class _PeerAwareProtocol(WSProtocol):  # type: ignore[misc]  # picows' protocol is untyped Cython
    """picows' server protocol, remembering the transport so the handshake can see the peer."""

    peer: Peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        address = transport.get_extra_info("peername")
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        certificate = ssl_object.getpeercert() if ssl_object is not None else None
        self.peer = Peer(str(address[0]) if address else "?", ssl_object is not None, certificate or None)
        super().connection_made(transport)


class Gateway:
    """Accepts charger websockets and hands their frames to the router."""

    def __init__(  # noqa: PLR0917 - the composition root passes each collaborator once
        self,
        config: Config,
        codec: OcppCodec,
        router: Router,
        chargers: Chargers,
        events: EventBus,
        message_log: MessageLog,
        authenticator: Authenticator,
        leniency: Leniency,
        registry: Registry,
    ) -> None:
        self.config = config
        self.codec = codec
        self.router = router
        self.chargers = chargers
        self.events = events
        self.message_log = message_log
        self.authenticator = authenticator
        self.leniency = leniency
        self.registry = registry
        self.metrics = Metrics()
        self.validate_outgoing = config.ocpp.validate_outgoing
        self.refused_frames = 0
        self.refused_handshakes = 0
        self._connections = TokenBucket(config.admission.connection_rate, config.admission.connection_burst)
        self._servers: list[asyncio.Server] = []
        self._open_policy_accepts = config.ocpp.unknown_charger == "accept"

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
        for connection in self.registry.connections():
            connection.close("central system shutting down", WSCloseCode.GOING_AWAY)
        for server in self._servers:
            await server.wait_closed()
        self._servers = []

    def _protocol(self) -> WSProtocol:
        health = self.config.health
        protocol: _PeerAwareProtocol | None = None

        def accept(request: WSUpgradeRequest) -> WSUpgradeResponseWithListener:
            assert protocol is not None
            return self._accept(request, protocol.peer)

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
            True,  # enable_auto_pong
            self.config.ocpp.max_frame_size,
            None,  # extra_headers
            # Most OCPP frames are under 1 KB: start small (the buffer grows on demand), so that 10 000 idle
            # connections do not hold 16 KB each.
            2048,
        )
        return protocol

    # --- handshake -----------------------------------------------------------------------------

    def _accept(self, request: WSUpgradeRequest, peer: Peer) -> WSUpgradeResponseWithListener:
        try:
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
            profile = self.authenticator.check(charger_id, request.headers, peer)
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
        connection = ChargerConnection(charger_id, self, peer.address, profile)
        return WSUpgradeResponseWithListener(response, connection)

    # --- connection lifecycle ------------------------------------------------------------------

    def connected(self, connection: ChargerConnection) -> None:
        previous = self.registry.attach(connection)
        if previous is not None:
            log.info("%s: new connection replaces the previous one", connection.charger_id)
            previous.close("replaced by a new connection", WSCloseCode.POLICY_VIOLATION)
        self.chargers.set_online(connection.charger_id, online=True)
        self.events.publish(
            Event(
                "ChargerConnected",
                connection.charger_id,
                {"source": connection.source, "profile": connection.profile},
            )
        )

    def disconnected(self, connection: ChargerConnection) -> None:
        if self.registry.detach(connection):
            self.chargers.set_online(connection.charger_id, online=False)
            self.events.publish(Event("ChargerDisconnected", connection.charger_id))

    def admits(self, connection: ChargerConnection) -> bool:
        """Whether a non-boot request of this charger is handled: it is accepted, or unknown under "accept".

        An accepted charger that talks without booting (it reconnected, or the central system restarted)
        is running as booted, so calls to it may go from now on.
        """
        registration = self.chargers.get(connection.charger_id).registration
        if registration == "Accepted":
            connection.admitted = True
            connection.mark_ready()
            return True
        return registration == "Unknown" and self._open_policy_accepts

    def refused(self, connection: ChargerConnection, data: bytes, error: OcppError) -> None:
        """A frame the codec refused: tolerated if a leniency rule of the charger repairs it, else logged,
        counted, and answered with a CALLERROR when it was a CALL."""
        received_at = time.time()
        if error.message_type == 2 and error.message_id is not None:
            repaired = self.leniency.repair(connection.charger_id, data, error)
            if repaired is not None:
                connection.dispatch(repaired, data, received_at)
                return
            self.refused_frames += 1
            count(self.metrics.calls_in, error.action or "?")
            connection.send_call_error(
                error.message_id, error.code, error.description, error.action, data, received_at
            )
            return
        self.refused_frames += 1
        log.warning("%s: frame refused and not answerable: %s", connection.charger_id, error)
        self.message_log.exchange(
            connection.charger_id, "in", received_at, data, error.message_type, error.message_id, error.action
        )
