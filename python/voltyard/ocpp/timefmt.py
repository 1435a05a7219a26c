"""Times: OCPP timestamps and the API's one format, UTC ISO 8601 with milliseconds and a "Z" (chargers
parse it most reliably; operators and integrators read one format everywhere)."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

__all__ = ["charger_instant", "charger_time", "iso_utc", "normalise_time", "parse_iso", "utc_now"]

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


# The formatted second of the latest `iso_utc`: times come in runs of the same second (an export's rows, a
# page of events). One tuple, replaced whole (in a list: no global statement), so that threads formatting at
# once never see half of it.
_iso_second: list[tuple[int, str]] = [(-1, "")]


def iso_utc(seconds: float) -> str:
    """`seconds` (unix time) as the API writes every time: UTC, ISO 8601, milliseconds and a "Z"."""
    # To the nearest millisecond: a stored time is a float, and 12.3 may be 12.29999.
    second, milli = divmod(math.floor(seconds * 1000 + 0.5), 1000)
    cached, prefix = _iso_second[0]
    if second != cached:
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _iso_second[0] = (second, prefix)
    return f"{prefix}.{milli:03d}Z"


# What the API accepts: RFC 3339's date-time (ISO 8601's common profile), with a "Z" or an offset. A time
# without one is refused: the API does not guess a zone.
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})")


def parse_iso(text: str) -> float:
    """An ISO 8601 date-time with a "Z" or an offset (2026-12-06T23:52:41.123Z), as unix seconds;
    ValueError for anything else."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time with Z or an offset")
    date, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    parsed = datetime.fromisoformat(f"{date}T{clock}.{(fraction or '0')[:6]:0<6}{zone}")
    try:
        seconds = parsed.timestamp()
        iso_utc(seconds)  # within the years the API can write back (0001-9999 in UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{text!r} is out of range") from None
    return seconds


def charger_time(text: str) -> float | None:
    """A time a charger sent, as unix seconds; one without an offset is taken as UTC (OCPP times are UTC);
    None when it does not parse."""
    try:
        parsed = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def normalise_time(text: str) -> str:
    """A time a charger sent, in the API's form when it parses; passed through as sent when it does not."""
    seconds = charger_time(text)
    return text if seconds is None else iso_utc(seconds)


# A charger's dateTime as the codec's `date-time` format lets it through (RFC 3339: a "Z" or an offset; a
# leap second 60) or as stored before the codec checked it (no offset: UTC, as OCPP times are).
_CHARGER_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?"
)


def charger_instant(text: str) -> float:
    """A time a charger sent, as the instant it names (unix seconds), so that times written with different
    offsets compare as the moments they are, never as text; ValueError when it is not a date-time.

    Parsed once where a time enters the domain; every comparison after that is between these numbers.
    """
    match = _CHARGER_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    leap = second == "60"  # RFC 3339 allows it; it is the next second's start
    offset = "+00:00" if zone is None or zone in ("Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(
            f"{year}-{month}-{day}T{hour}:{minute}:{'59' if leap else second}{offset}"
        )
        seconds = parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{text!r} is not a valid date-time") from None
    return seconds + leap + float(f"0.{fraction or '0'}")
