"""OCPP timestamps: UTC, ISO 8601 with milliseconds and a "Z", as chargers parse most reliably."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["utc_now"]

_cached: tuple[int, str] = (0, "")


def utc_now() -> str:
    """The current UTC time; the string is rebuilt at most once per millisecond (Heartbeat is hot)."""
    global _cached  # noqa: PLW0603 - a one-entry cache for the hottest reply field
    millis = time.time_ns() // 1_000_000
    if _cached[0] != millis:
        stamp = datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _cached = (millis, f"{stamp}.{millis % 1000:03d}Z")
    return _cached[1]
