"""The websocket handshake's checks: the charger id in the path and the OCPP subprotocol (`ocpp1.6`,
`ocpp2.0.1`, `ocpp2.1`: the highest one both the charger offers and the configuration allows).

A refused handshake gets an HTTP error status and a one-line reason, and no upgrade.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from urllib.parse import unquote

from voltyard.ocpp.codec import OcppVersion

__all__ = [
    "OCPP_SUBPROTOCOL",
    "SUBPROTOCOLS",
    "HandshakeRefusal",
    "basic_credentials",
    "charger_id_from_path",
    "choose_subprotocol",
    "offers_subprotocol",
]

OCPP_SUBPROTOCOL = "ocpp1.6"
# OCPP version -> its websocket subprotocol (OCPP-J 1.6 §3.1.2; 2.0.1 and 2.1 part 4 §3.1.2), lowest first.
SUBPROTOCOLS: dict[OcppVersion, str] = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
MAX_CHARGER_ID_LENGTH = 48
# OCPP's identifierString charset ("CiString" identifiers of the JSON spec, §3.1.1).
_DOT_SEGMENTS = frozenset({".", ".."})
_ID_CHARSET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-_=:+|@.")


class HandshakeRefusal(Exception):
    """Why a handshake is refused: an HTTP status and a reason."""

    def __init__(
        self,
        status: int,
        reason: str,
        *,
        challenge: str | None = None,
        retry_after: int | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.challenge = challenge
        self.retry_after = retry_after
        self.version = version

    def headers(self) -> dict[str, str]:
        """Extra response headers: WWW-Authenticate for a 401, Retry-After when waiting helps, and
        Sec-WebSocket-Version for a 426."""
        extra = {}
        if self.challenge is not None:
            extra["WWW-Authenticate"] = self.challenge
        if self.retry_after is not None:
            extra["Retry-After"] = str(self.retry_after)
        if self.version is not None:
            extra["Sec-WebSocket-Version"] = self.version
        return extra


def charger_id_from_path(path: str) -> str:
    """The charger id of `/ocpp/{id}` or `/{id}` (percent-decoded); raises HandshakeRefusal otherwise."""
    path = path.split("?", 1)[0]
    if path.startswith("/ocpp/"):
        raw = path[len("/ocpp/") :]
    elif path.startswith("/"):
        raw = path[1:]
    else:
        raise HandshakeRefusal(404, f"path {path!r} is not /ocpp/{{chargePointId}} or /{{chargePointId}}")
    charger_id = unquote(raw)
    if not 1 <= len(charger_id) <= MAX_CHARGER_ID_LENGTH:
        raise HandshakeRefusal(
            404, f"charger id must be 1-{MAX_CHARGER_ID_LENGTH} characters, got {len(charger_id)} in {path!r}"
        )
    bad = sorted(set(charger_id) - _ID_CHARSET)
    if bad:
        raise HandshakeRefusal(
            404,
            f"charger id {charger_id!r} has characters outside the OCPP identifier charset: {''.join(bad)!r}",
        )
    if charger_id in _DOT_SEGMENTS:
        # RFC 3986 dot-segments: every URL naming this charger (the API's /chargers/{id}, a proxy's log)
        # would be resolved to its parent or itself, so the charger could never be addressed.
        raise HandshakeRefusal(404, f"charger id {charger_id!r} is a URL dot-segment, not an identifier")
    return charger_id


def offers_subprotocol(headers: Mapping[str, str], wanted: str = OCPP_SUBPROTOCOL) -> bool:
    """Whether the request's Sec-WebSocket-Protocol list contains `wanted`."""
    offered = headers.get("Sec-WebSocket-Protocol", "")
    return any(item.strip() == wanted for item in offered.split(","))


def choose_subprotocol(headers: Mapping[str, str], allowed: Sequence[str]) -> OcppVersion:
    """The OCPP version of the session: the highest of `allowed` whose subprotocol the charger offers.

    The charger's order of preference is not asked: the spec lets the server pick any offered one, and the
    newest both sides speak serves it best.

    Raises:
        HandshakeRefusal: 400 naming what was offered and what is allowed, when none matches.
    """
    offered_text = headers.get("Sec-WebSocket-Protocol", "")
    offered = {item.strip() for item in offered_text.split(",")}
    for version in reversed(SUBPROTOCOLS):
        if version in allowed and SUBPROTOCOLS[version] in offered:
            return version
    wanted = ", ".join(SUBPROTOCOLS[version] for version in SUBPROTOCOLS if version in allowed)
    raise HandshakeRefusal(
        400,
        f"the handshake must offer one of the subprotocols {wanted}; "
        f"it offered {offered_text.strip() or 'none'}",
    )


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, bytes] | None:
    """(username, password) of an `Authorization: Basic` header; None when there is none.

    Raises:
        HandshakeRefusal: 401 when the header is there but not valid Basic credentials.
    """
    value = headers.get("Authorization")
    if value is None:
        return None
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise HandshakeRefusal(401, f"Authorization scheme {scheme!r} is not Basic")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise HandshakeRefusal(401, "Authorization: Basic credentials are not valid base64") from None
    username, sep, password = decoded.partition(b":")
    if not sep:
        raise HandshakeRefusal(401, "Authorization: Basic credentials have no ':'")
    return username.decode("utf-8", "replace"), password
