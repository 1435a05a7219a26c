"""Who may open a session: the security profile of the charger against what the connection presents.

- profile 0: nothing to present;
- profile 1: HTTP Basic, username = the charger id, password = its AuthorizationKey;
- profile 2: as 1, over TLS;
- profile 3: TLS with a client certificate that chains to the configured CA and whose CN is the charger id.

A charger is never let in on a lower profile than the one set for it. Every refusal is a 401 or 403 before
the upgrade (so no OCPP frame is ever read), is counted against the source address (which is locked out
after too many), and becomes a security event. Passwords never reach a log line or an event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voltyard.domain.credentials import Credentials
from voltyard.events.bus import EventBus
from voltyard.events.kinds import SecurityEvent
from voltyard.gateway.admission import AuthThrottle
from voltyard.gateway.handshake import HandshakeRefusal, basic_credentials
from voltyard.gateway.tls import certificate_common_name

__all__ = ["Authenticator", "Peer"]

log = logging.getLogger(__name__)

_CHALLENGE = 'Basic realm="OCPP", charset="UTF-8"'


@dataclass(frozen=True, slots=True)
class Peer:
    """The far end of a connection as the transport knows it."""

    address: str
    tls: bool
    certificate: dict[str, Any] | None


class Authenticator:
    """Applies the charger's security profile at the handshake; see the module docstring."""

    def __init__(
        self, credentials: Credentials, throttle: AuthThrottle, events: EventBus, default_profile: int
    ) -> None:
        self.credentials = credentials
        self.throttle = throttle
        self.events = events
        self.default_profile = default_profile
        self.failures = 0

    def check(self, charger_id: str, headers: Mapping[str, str], peer: Peer) -> int:
        """The profile the charger was admitted under; raises HandshakeRefusal otherwise."""
        if self.throttle.locked(peer.address):
            raise HandshakeRefusal(429, "too many failed logins from this address; try again later")
        known = self.credentials.of(charger_id)
        profile = max(known.profile, self.default_profile)
        try:
            self._check_profile(charger_id, profile, headers, peer)
        except HandshakeRefusal as refusal:
            self.failures += 1
            self.throttle.failed(peer.address)
            log.warning(
                "%s from %s refused (%d): %s", charger_id, peer.address, refusal.status, refusal.reason
            )
            self.events.publish(
                SecurityEvent(
                    charger_id,
                    "AuthenticationFailed",
                    source=peer.address,
                    reason=refusal.reason,
                    profile=profile,
                )
            )
            raise
        return profile

    def _check_profile(self, charger_id: str, profile: int, headers: Mapping[str, str], peer: Peer) -> None:
        if profile >= 2 and not peer.tls:
            raise HandshakeRefusal(
                403, f"{charger_id} is on security profile {profile}: connect over TLS (wss)"
            )
        if profile == 3:
            common_name = certificate_common_name(peer.certificate)
            if common_name is None:
                raise HandshakeRefusal(
                    403, f"{charger_id} is on security profile 3: a client certificate is needed"
                )
            if common_name != charger_id:
                raise HandshakeRefusal(403, f"client certificate CN {common_name!r} is not the charger id")
            return
        if profile in (1, 2):
            credentials = basic_credentials(headers)
            if credentials is None:
                raise HandshakeRefusal(401, "HTTP Basic credentials are required", challenge=_CHALLENGE)
            username, password = credentials
            if username != charger_id:
                raise HandshakeRefusal(401, "the Basic username is not the charger id", challenge=_CHALLENGE)
            if not self.credentials.check_password(charger_id, password):
                raise HandshakeRefusal(401, "wrong password", challenge=_CHALLENGE)
