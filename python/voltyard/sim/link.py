"""The websocket side of a simulated charger: `voltyard.ws_client`, shared with the uplink (one client of
an OCPP charge point for both), opened here with the subprotocols of the charger's OCPP versions."""

from __future__ import annotations

from picows import ws_connect

from voltyard.sim.protocols import subprotocol, version_of
from voltyard.ws_client import ConnectOptions, Link, LinkOwner, backoff_delay, open_link

__all__ = [
    "ConnectOptions",
    "Link",
    "LinkOwner",
    "backoff_delay",
    "negotiated_version",
    "open_link",
    "open_versioned_link",
]


async def open_versioned_link(
    charger: LinkOwner, options: ConnectOptions, password: str | None, versions: tuple[str, ...]
) -> Link:
    """`open_link`, offering the subprotocols of `versions` (in that order) instead of `ocpp1.6` alone;
    raises OSError, picows' WSError or TimeoutError when it cannot connect."""
    charger_id = charger.charger_id
    headers = options.headers_for(charger_id, password)
    headers["Sec-WebSocket-Protocol"] = ", ".join(subprotocol(version) for version in versions)
    _, listener = await ws_connect(
        lambda: Link(charger),
        options.url_for(charger_id),
        ssl_context=options.ssl_context_for(charger_id),
        websocket_handshake_timeout=options.handshake_timeout,
        extra_headers=headers,
        read_buffer_init_size=options.read_buffer,
        max_redirects=0,
        logger_name=options.logger_name,
    )
    assert isinstance(listener, Link)
    return listener


def negotiated_version(link: Link, offered: tuple[str, ...]) -> str | None:
    """The version the central system picked from `offered` (its Sec-WebSocket-Protocol answer); None when
    it answered none of them. A server that names no subprotocol at all gets the first one offered."""
    transport = link.transport
    response = transport.response if transport is not None else None
    headers = response.headers if response is not None else None
    chosen = headers.get("Sec-WebSocket-Protocol") if headers is not None else None
    if chosen is None:
        return offered[0]
    version = version_of(chosen)
    return version if version in offered else None
