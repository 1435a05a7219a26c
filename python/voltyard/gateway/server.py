"""The picows server: handshake decisions, the connection registry and the per-frame shared context.

`Gateway` is what every `ChargerConnection` reaches for: the codec, the router, the message log and the
charger registry. It decides the handshake (path, charger id, subprotocol), keeps one live connection per
charger id, and answers frames that could not be decoded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from http import HTTPStatus

from picows import (
    WSCloseCode,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from voltyard._native import OcppCodec
from voltyard.config import OcppConfig
from voltyard.domain.chargers import Chargers
from voltyard.errors import OcppError
from voltyard.events import Event, EventBus
from voltyard.gateway.connection import ChargerConnection
from voltyard.gateway.handshake import (
    OCPP_SUBPROTOCOL,
    HandshakeRefusal,
    charger_id_from_path,
    offers_subprotocol,
)
from voltyard.gateway.registry import Registry
from voltyard.ocpp.router import Router
from voltyard.store.message_log import MessageLog

__all__ = ["Gateway"]

log = logging.getLogger(__name__)


class Gateway:
    """Accepts charger websockets and hands their frames to the router."""

    def __init__(  # noqa: PLR0917 - the composition root passes each collaborator once
        self,
        config: OcppConfig,
        codec: OcppCodec,
        router: Router,
        chargers: Chargers,
        events: EventBus,
        message_log: MessageLog,
    ) -> None:
        self.config = config
        self.codec = codec
        self.router = router
        self.chargers = chargers
        self.events = events
        self.message_log = message_log
        self.registry = Registry()
        self.validate_outgoing = config.validate_outgoing
        self.refused_frames = 0
        self._server: asyncio.Server | None = None
        self._open_policy_accepts = config.unknown_charger == "accept"

    async def start(self, host: str, port: int) -> asyncio.Server:
        self._server = await ws_create_server(
            self._accept,
            host,
            port,
            max_frame_size=self.config.max_frame_size,
            # Most OCPP frames are under 1 KB: start small (the buffer grows on demand), so that 10 000
            # idle connections do not hold 16 KB each.
            read_buffer_init_size=2048,
            websocket_handshake_timeout=10,
            logger_name="voltyard.gateway.picows",
        )
        return self._server

    async def stop(self) -> None:
        """Stop listening and close every charger connection."""
        if self._server is not None:
            self._server.close()
        for connection in self.registry.connections():
            connection.close("central system shutting down", WSCloseCode.GOING_AWAY)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # --- handshake -----------------------------------------------------------------------------

    def _accept(self, request: WSUpgradeRequest) -> WSUpgradeResponseWithListener:
        try:
            charger_id = charger_id_from_path(request.path.decode("utf-8", "replace"))
            if not offers_subprotocol(request.headers):
                raise HandshakeRefusal(
                    HTTPStatus.BAD_REQUEST, f"the handshake must offer the {OCPP_SUBPROTOCOL} subprotocol"
                )
        except HandshakeRefusal as refusal:
            log.info("handshake refused (%d): %s", refusal.status, refusal.reason)
            response = WSUpgradeResponse.create_error_response(refusal.status, refusal.reason.encode())
            return WSUpgradeResponseWithListener(response, None)
        response = WSUpgradeResponse.create_101_response(
            extra_headers={"Sec-WebSocket-Protocol": OCPP_SUBPROTOCOL}
        )
        return WSUpgradeResponseWithListener(response, ChargerConnection(charger_id, self))

    # --- connection lifecycle ------------------------------------------------------------------

    def connected(self, connection: ChargerConnection) -> None:
        previous = self.registry.attach(connection)
        if previous is not None:
            log.info("%s: new connection replaces the previous one", connection.charger_id)
            previous.close("replaced by a new connection", WSCloseCode.POLICY_VIOLATION)
        self.events.publish(Event("ChargerConnected", connection.charger_id))

    def disconnected(self, connection: ChargerConnection) -> None:
        if self.registry.detach(connection):
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
        """A frame the codec refused: logged, counted, and answered with a CALLERROR when it was a CALL."""
        self.refused_frames += 1
        received_at = time.time()
        if error.message_type == 2 and error.message_id is not None:
            connection.send_call_error(
                error.message_id, error.code, error.description, error.action, data, received_at
            )
        else:
            log.warning("%s: frame refused and not answerable: %s", connection.charger_id, error)
            self.message_log.exchange(
                connection.charger_id,
                "in",
                received_at,
                data,
                error.message_type,
                error.message_id,
                error.action,
            )
