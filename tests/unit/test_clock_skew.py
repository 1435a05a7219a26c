"""Clock skew of charger timestamps (`clock_skewed`, and `ClockSkew` on top of it), against the standard
library's reading of the same RFC 3339 text."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voltyard._native import MeterReadingBuffer, clock_skewed, read_meter_values
from voltyard.domain.transactions import ClockSkew
from voltyard.store.meter_log import decode_meter_block

_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC).timestamp()

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31))
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))


def _rfc3339(moment: datetime, offset: timedelta | None, fraction: bool) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += f".{moment.microsecond:06d}"
    if offset is None:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@given(moments, st.one_of(st.none(), offsets), st.booleans(), st.floats(min_value=0.0, max_value=7.3e9))
def test_native_judgement_matches_the_standard_library(
    moment: datetime, offset: timedelta | None, fraction: bool, limit: float
) -> None:
    text = _rfc3339(moment, offset, fraction)
    at = moment.replace(tzinfo=timezone(offset) if offset is not None else UTC)
    if not fraction:
        at = at.replace(microsecond=0)
    expected = at.timestamp() < _EPOCH_2000 or at.timestamp() > limit
    assert clock_skewed(text, limit) is expected, text


@pytest.mark.parametrize(
    ("timestamp", "skewed"),
    [
        ("2026-11-25T10:00:00Z", False),
        ("1999-12-31T23:59:59Z", True),
        ("2026-11-25T10:00:00+23:00", False),  # that instant is already past
        ("2026-11-25T10:10:00Z", True),  # ten minutes ahead: over a five-minute tolerance
        ("2026-11-25T10:04:59", False),  # no offset: read as UTC
        ("1970-unreadable", True),  # unreadable: judged by its year
        ("2026-unreadable", False),
    ],
)
def test_clock_skew_tolerates_what_is_within_the_tolerance(
    monkeypatch: pytest.MonkeyPatch, timestamp: str, skewed: bool
) -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp()
    monkeypatch.setattr(time, "time", lambda: now)
    assert ClockSkew(300.0)(timestamp) is skewed


def test_stored_readings_are_flagged_one_by_one() -> None:
    buffer = MeterReadingBuffer()
    limit = datetime(2026, 11, 25, 10, 5, tzinfo=UTC).timestamp()
    read = read_meter_values({
        "connectorId": 1,
        "meterValue": [
            {"timestamp": "2026-11-25T10:00:00Z", "sampledValue": [{"value": "1"}]},
            {"timestamp": "2031-01-01T00:00:00Z", "sampledValue": [{"value": "2"}]},
            {"timestamp": "1980-01-01T00:00:00Z", "sampledValue": [{"value": "3"}]},
        ],
    })  # fmt: skip
    buffer.append_read("CP", read, 7.0, limit)
    ((*_, data),) = buffer.take().blocks()

    readings = list(decode_meter_block("CP", 1, None, data))
    assert [(r.energy_wh, r.clock_skew, r.received_at) for r in readings] == [
        (1.0, False, 7.0),
        (2.0, True, 7.0),
        (3.0, True, 7.0),
    ]
