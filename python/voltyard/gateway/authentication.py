"""Who may open a session: the security profile of the charger against what the connection presents.

- profile 0: nothing to present;
- profile 1: HTTP Basic, username = the charger id, password = its AuthorizationKey;
- profile 2: as 1, over TLS;
- profile 3: TLS with a client certificate that chains to the configured CA and whose CN is the charger id.

A charger is never let in on a lower profile than the one set for it. Every refusal is a 401 or 403 before
the upgrade (so no OCPP frame is ever read), is counted against the charger id (locked out after too many)
and the source address (a looser flood guard, see `AuthThrottle`), and becomes a security event. Passwords
never reach a log line or an event. Profile-0 chargers present nothing and are never throttled.

picows decides the upgrade synchronously, and scrypt must not run on the event loop; so the check is in two
steps. `prepare` sees the request before picows does (`voltyard.gateway.deferred`) and, when the password is
not known by its keyed hash, verifies it in a hashing thread; `check` then decides with that verdict. A
wrong password and an unknown charger id both cost one scrypt (off the loop), so a 401 does not tell
whether the id exists; a right password costs microseconds.

Under `[ocpp] unknown_charger = "reject"` a charger id the appliance does not know is refused here with 404
(OCPP-J 1.6 §3.1.1: "not recognized"), once its credentials have been checked as anyone's are, so that the
404 tells no more than the 401 would. It leaves nothing behind: no charger record, no event, only the
count (`unknown_refused`, in /metrics). Random ids used to create a charger row and events each (issue 17).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from voltyard.domain.credentials import Credentials, basic_auth_impossible
from voltyard.events.bus import EventBus
from voltyard.events.kinds import SecurityEvent
from voltyard.gateway.admission import AuthThrottle
from voltyard.gateway.handshake import HandshakeRefusal, basic_credentials, charger_id_from_path
from voltyard.gateway.tls import certificate_common_name

__all__ = ["Authenticator", "Peer", "Verdicts"]

log = logging.getLogger(__name__)

_CHALLENGE = 'Basic realm="OCPP", charset="UTF-8"'
# Password checks waiting for a hashing thread at once; beyond that a handshake is told to retry (503).
_MAX_PENDING = 64

# (charger id, password) -> whether it is the charger's password, as verified off the loop by `prepare`.
Verdicts = Mapping[tuple[str, bytes], bool]
_NO_VERDICTS: Verdicts = {}


@dataclass(frozen=True, slots=True)
class Peer:
    """The far end of a connection as the transport knows it."""

    address: str
    tls: bool
    certificate: dict[str, Any] | None


class Authenticator:
    """Applies the charger's security profile at the handshake; see the module docstring."""

    def __init__(
        self,
        credentials: Credentials,
        throttle: AuthThrottle,
        events: EventBus,
        default_profile: int,
        *,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        self.credentials = credentials
        self.throttle = throttle
        self.events = events
        self.default_profile = default_profile
        # Whether a charger id is one the appliance knows; given only under the "reject" policy.
        self.known = known
        self.failures = 0
        self.unknown_refused = 0
        self.pending = 0  # password checks waiting for a hashing thread

    def prepare(self, path: str, headers: Mapping[str, str], peer: Peer) -> Awaitable[Verdicts] | None:
        """The slow part of `check`, started before it: verifies off the loop a Basic password that is not
        known by its keyed hash. None when there is nothing slow to do (the common case: no need to wait)."""
        try:
            charger_id = charger_id_from_path(path)
            credentials = basic_credentials(headers)
        except HandshakeRefusal:
            return None  # `check` refuses it again, in microseconds
        if credentials is None or credentials[0] != charger_id or ":" in charger_id:
            return None
        password = credentials[1]
        slow = (
            max(self.credentials.of(charger_id).profile, self.default_profile) in (1, 2)
            and not self.credentials.known(charger_id, password)
            and not self.throttle.charger_locked(charger_id)
            and not self.throttle.address_flooded(peer.address)
            and self.pending < _MAX_PENDING
        )
        return self._verify(charger_id, password) if slow else None

    async def _verify(self, charger_id: str, password: bytes) -> Verdicts:
        self.pending += 1
        try:
            return {(charger_id, password): await self.credentials.verify(charger_id, password)}
        finally:
            self.pending -= 1

    def check(
        self, charger_id: str, headers: Mapping[str, str], peer: Peer, verdicts: Verdicts = _NO_VERDICTS
    ) -> int:
        """The profile the charger was admitted under; raises HandshakeRefusal otherwise.

        `verdicts` are those `prepare` reached for this request; without one, a password not known by its
        keyed hash is refused rather than hashed here, on the loop.
        """
        profile = max(self.credentials.of(charger_id).profile, self.default_profile)
        if profile == 0:
            self._refuse_unknown(charger_id)
            return 0  # nothing to present, so nothing to guess: never throttled
        if self.throttle.charger_locked(charger_id):
            raise HandshakeRefusal(
                HTTPStatus.TOO_MANY_REQUESTS,
                f"too many failed logins for {charger_id}; try again later",
                retry_after=round(self.throttle.window),
            )
        try:
            self._check_profile(charger_id, profile, headers, peer, verdicts)
        except HandshakeRefusal as refusal:
            if refusal.status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
                raise  # not a failed login: the password was not even looked at
            self.failures += 1
            self.throttle.failed(charger_id, peer.address)
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
        self._refuse_unknown(charger_id)
        return profile

    def _refuse_unknown(self, charger_id: str) -> None:
        """Under the "reject" policy, an id the appliance does not know gets 404 and leaves only a count."""
        if self.known is not None and not self.known(charger_id):
            self.unknown_refused += 1
            raise HandshakeRefusal(
                HTTPStatus.NOT_FOUND, f"unknown charger id {charger_id!r} ([ocpp] unknown_charger = reject)"
            )

    def _check_profile(
        self, charger_id: str, profile: int, headers: Mapping[str, str], peer: Peer, verdicts: Verdicts
    ) -> None:
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
            if ":" in charger_id:
                raise HandshakeRefusal(401, basic_auth_impossible(charger_id), challenge=_CHALLENGE)
            credentials = basic_credentials(headers)
            if credentials is None:
                raise HandshakeRefusal(401, "HTTP Basic credentials are required", challenge=_CHALLENGE)
            username, password = credentials
            if username != charger_id:
                raise HandshakeRefusal(401, "the Basic username is not the charger id", challenge=_CHALLENGE)
            if self.credentials.known(charger_id, password):
                return
            verdict = verdicts.get((charger_id, password))
            if verdict is None:
                if self.throttle.address_flooded(peer.address):
                    raise HandshakeRefusal(
                        HTTPStatus.TOO_MANY_REQUESTS,
                        "too many failed logins from this address; try again later",
                        retry_after=round(self.throttle.window),
                    )
                raise HandshakeRefusal(
                    HTTPStatus.SERVICE_UNAVAILABLE, "too many logins being verified; try again", retry_after=1
                )
            if not verdict:
                raise HandshakeRefusal(401, "wrong password", challenge=_CHALLENGE)
