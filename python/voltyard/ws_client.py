"""The websocket client of an OCPP charge point: connection options, security profiles 0-3, the picows client.

Shared by the simulator (voltyard.sim) and the uplink (voltyard.uplink), which both connect to a central
system as a charge point. A charge point connects as a real one does: `{url}/{chargePointId}` with the
`ocpp1.6` subprotocol; under security profile 1 or 2 with HTTP Basic credentials (user = charger id,
password = AuthorizationKey); under 2 and 3 over TLS, verifying the central system against a CA file;
under 3 presenting a client certificate. Reconnects back off exponentially with "equal jitter" (half
fixed, half random), so that a fleet that dropped together does not come back in lockstep.
"""

from __future__ import annotations

import base64
import random
import ssl
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from voltyard.errors import ConfigError

__all__ = ["ConnectOptions", "Link", "LinkOwner", "backoff_delay", "open_link"]

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE


class LinkOwner(Protocol):
    """What a Link reports to: the charge point that opened it (a simulated charger, an uplinked one)."""

    @property
    def charger_id(self) -> str: ...

    def receive(self, link: Link, data: bytes) -> None: ...

    def link_down(self, link: Link) -> None: ...


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """How every charger of a run reaches the central system.

    `password`, `cert_file` and `key_file` may contain `{charger_id}`, so each charger can have its own.
    """

    url: str
    security_profile: int = 0
    password: str | None = None
    ca_file: Path | None = None
    cert_file: str | None = None
    key_file: str | None = None
    handshake_timeout: float = 10.0
    call_timeout: float = 30.0
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    # picows' default read buffer is 16 KiB per socket: 160 MB for 10 000 chargers. OCPP frames from
    # the central system are small; the buffer grows when one is not.
    read_buffer: int = 2048
    logger_name: str = "voltyard.sim"

    def check(self) -> None:
        """Raise ConfigError when the options cannot work together."""
        scheme = self.url.split("://", 1)[0]
        if scheme not in ("ws", "wss"):
            raise ConfigError(f"--url {self.url!r}: must start with ws:// or wss://")
        if not 0 <= self.security_profile <= 3:
            raise ConfigError(f"--security-profile {self.security_profile}: must be 0, 1, 2 or 3")
        if self.security_profile >= 2 and scheme != "wss":
            raise ConfigError(f"security profile {self.security_profile} needs a wss:// URL")
        if self.security_profile in (1, 2) and not self.password:
            raise ConfigError(f"security profile {self.security_profile} needs --password")
        if self.security_profile == 3 and not (self.cert_file and self.key_file):
            raise ConfigError("security profile 3 needs --cert-file and --key-file")

    def url_for(self, charger_id: str) -> str:
        if "{charger_id}" in self.url:
            return self.url.replace("{charger_id}", quote(charger_id, safe=""))
        return f"{self.url.rstrip('/')}/{quote(charger_id, safe='')}"

    def headers_for(self, charger_id: str, password: str | None) -> dict[str, str]:
        headers = {"Sec-WebSocket-Protocol": "ocpp1.6"}
        if self.security_profile in (1, 2) and password:
            token = base64.b64encode(f"{charger_id}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers

    def password_for(self, charger_id: str) -> str | None:
        return self.password.replace("{charger_id}", charger_id) if self.password else None

    def ssl_context_for(self, charger_id: str) -> ssl.SSLContext | None:
        if not self.url.startswith("wss://"):
            return None
        cert = key = None
        if self.security_profile == 3 and self.cert_file and self.key_file:
            cert = self.cert_file.replace("{charger_id}", charger_id)
            key = self.key_file.replace("{charger_id}", charger_id)
        return _ssl_context(str(self.ca_file) if self.ca_file else None, cert, key)


@cache
def _ssl_context(ca_file: str | None, cert_file: str | None, key_file: str | None) -> ssl.SSLContext:
    # One context per distinct credential set: all chargers of a profile-2 run share one.
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # the security extension's floor
    if cert_file is not None and key_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before reconnect `attempt` (0 = the first retry): half of the exponential step, plus jitter."""
    step = min(cap, base * (2.0 ** min(attempt, 30)))
    return step / 2.0 + rng.uniform(0.0, step / 2.0)


class Link(WSListener):
    """One websocket connection of a charge point; forwards complete messages to its owner.

    A charger makes a new Link per connection, so callbacks of an old, replaced connection are
    recognised by identity and ignored.
    """

    __slots__ = ("_fragments", "charger", "transport")

    def __init__(self, charger: LinkOwner) -> None:
        self.charger = charger
        self.transport: WSTransport | None = None
        self._fragments: list[bytes] | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.charger.link_down(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if frame.fin:
                self.charger.receive(self, frame.get_payload_as_bytes())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
        elif msg_type is _CONTINUATION and self._fragments is not None:
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), None
                self.charger.receive(self, data)
        elif msg_type is _CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def send(self, data: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_disconnected:
            return False
        transport.send(_TEXT, data)
        return True

    def close(self, graceful: bool) -> None:
        """Close the socket: with a close handshake, or dropped at once as a failing network would."""
        transport = self.transport
        if transport is None or transport.is_disconnected:
            return
        if graceful:
            transport.send_close()
        transport.disconnect(graceful=graceful)


async def open_link(charger: LinkOwner, options: ConnectOptions, password: str | None) -> Link:
    """Connect `charger` once; raises OSError, picows' WSError or TimeoutError when it cannot."""
    charger_id = charger.charger_id
    _, listener = await ws_connect(
        lambda: Link(charger),
        options.url_for(charger_id),
        ssl_context=options.ssl_context_for(charger_id),
        websocket_handshake_timeout=options.handshake_timeout,
        extra_headers=options.headers_for(charger_id, password),
        read_buffer_init_size=options.read_buffer,
        max_redirects=0,
        logger_name=options.logger_name,
    )
    assert isinstance(listener, Link)
    return listener
