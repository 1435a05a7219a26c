"""OCPP timestamps: UTC, ISO 8601 with milliseconds and a "Z", as chargers parse most reliably."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["utc_now"]

# The last stamp given, by millisecond, and the formatted second it lies in: a Heartbeat answer
# costs a clock read when the millisecond repeats, an f-string when only the millisecond moved, and
# datetime formatting once a second. -1 matches no clock reading.
_millis, _stamp = -1, ""
_second, _prefix = -1, ""


def utc_now() -> str:
    """The current UTC time."""
    global _millis, _stamp, _second, _prefix
    millis = time.time_ns() // 1_000_000
    if millis != _millis:
        second, milli = divmod(millis, 1000)
        if second != _second:
            _second, _prefix = second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _millis, _stamp = millis, f"{_prefix}.{milli:03d}Z"
    return _stamp
