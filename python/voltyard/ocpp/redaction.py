"""Secrets in OCPP payloads, masked wherever a frame leaves for anyone but the charger.

The one masking of the appliance: the message log, the live stream's MessageOut events and every other
reader of a sent frame see what `redacted` gives. The charger itself gets the real frame.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SECRET_KEYS", "redacted"]

# Configuration keys whose value is a credential (OCPP 1.6 security whitepaper: the Basic-auth password).
SECRET_KEYS = frozenset({"AuthorizationKey"})


def redacted(action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload with secrets masked; None when it holds none."""
    if action == "ChangeConfiguration" and payload.get("key") in SECRET_KEYS:
        return {**payload, "value": "***"}
    return None
