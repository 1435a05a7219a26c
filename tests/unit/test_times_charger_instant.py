"""`charger_instant`: a charger's time as the instant it names, compared as a moment (issue 17)."""

from __future__ import annotations

import pytest
from voltyard.ocpp.timefmt import charger_instant


def test_offsets_name_the_same_instant_as_utc() -> None:
    assert charger_instant("2026-11-25T10:30:00+01:00") == charger_instant("2026-11-25T09:30:00Z")
    assert charger_instant("2026-11-25T12:00:00+05:00") < charger_instant("2026-11-25T10:00:00Z")
    # Text order says the opposite of instant order: the comparison reconciliation once made.
    assert "2026-11-25T10:30:00+01:00" > "2026-11-25T10:00:00Z"
    assert charger_instant("2026-11-25T10:30:00+01:00") < charger_instant("2026-11-25T10:00:00Z")


def test_what_rfc_3339_allows() -> None:
    base = charger_instant("2026-11-25T10:00:00Z")
    assert charger_instant("2026-11-25t10:00:00z") == base
    assert charger_instant("2026-11-25 10:00:00Z") == base
    assert charger_instant("2026-11-25T10:00:00") == base  # stored before the codec checked: UTC
    assert charger_instant("2026-11-25T10:00:00.5Z") == base + 0.5
    assert charger_instant("2026-11-25T10:00:00.123456789Z") == pytest.approx(base + 0.123456789)
    assert charger_instant("2026-12-31T23:59:60Z") == charger_instant("2027-01-01T00:00:00Z")  # leap second


@pytest.mark.parametrize(
    "text", ["", "now", "2026-11-25", "2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "2026-11-25T10:00:00+1"]
)
def test_what_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="date-time"):
        charger_instant(text)
