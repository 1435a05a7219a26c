"""The websocket handshake's checks: the charger id in the path and the `ocpp1.6` subprotocol.

A refused handshake gets an HTTP error status and a one-line reason, and no upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

__all__ = ["OCPP_SUBPROTOCOL", "HandshakeRefusal", "charger_id_from_path", "offers_subprotocol"]

OCPP_SUBPROTOCOL = "ocpp1.6"
MAX_CHARGER_ID_LENGTH = 48
# OCPP's identifierString charset ("CiString" identifiers of the JSON spec, §3.1.1).
_ID_CHARSET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-_=:+|@.")


class HandshakeRefusal(Exception):
    """Why a handshake is refused: an HTTP status and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


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
    return charger_id


def offers_subprotocol(headers: Mapping[str, str], wanted: str = OCPP_SUBPROTOCOL) -> bool:
    """Whether the request's Sec-WebSocket-Protocol list contains `wanted`."""
    offered = headers.get("Sec-WebSocket-Protocol", "")
    return any(item.strip() == wanted for item in offered.split(","))
