"""What the protocol layer needs of a connected charger, whatever carries its frames.

The gateway's websocket connection is one `Session`; the unit tests' fake session is another. Handlers,
dispatch and commands type against this protocol, never against the transport, so a second protocol
version is a second set of handlers and schemas behind the same `Session`.

A session moves bytes: the OCPP-J frames (CALL, CALLRESULT, CALLERROR) are built by `ocpp.dispatch` (the
answers to the charger's calls) and `ocpp.commands` (the central system's calls), which send them with
`send`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from voltyard.ocpp.codec import OcppVersion

__all__ = ["CLOSE_GOING_AWAY", "CLOSE_NORMAL", "CLOSE_POLICY_VIOLATION", "Session"]

# Websocket close codes (RFC 6455 §7.4.1) the protocol layer closes a session with.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008


class Session(Protocol):
    """One connected charger."""

    charger_id: str
    # The OCPP version negotiated at the handshake ("1.6", "2.0.1" or "2.1"): the codec and handlers it gets.
    ocpp_version: OcppVersion
    # The security profile it authenticated with (0-3) and where it connected from.
    profile: int
    source: str
    # When its last CALL came (time.time()); heartbeats and meter values are dated with it.
    last_message: float
    # Known to be accepted (booted, or accepted and talking): the per-message check is one attribute read.
    admitted: bool

    def send(self, data: bytes) -> None:
        """Send one OCPP-J frame; dropped when the session is already closed."""
        ...

    def close(self, reason: str, code: int = CLOSE_NORMAL) -> None:
        """Close the session (replaced by a newer one, shutdown, a protocol violation)."""
        ...

    def mark_ready(self) -> None:
        """The charger has booted (or shown it runs as booted): calls to it may go."""
        ...

    @property
    def ready(self) -> bool:
        """Whether `mark_ready` was called and the session is still open."""
        ...

    async def wait_ready(self) -> None:
        """Wait until `mark_ready`; raises ChargerOfflineError if the session closes first."""
        ...
