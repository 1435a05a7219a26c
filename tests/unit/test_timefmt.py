"""utc_now: the stamp of the current millisecond, from its one-entry caches."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voltyard.ocpp import timefmt

# Milliseconds from 1970 to 2100, as the clock gives them: in any order, repeated, across second and
# day boundaries.
millis = st.integers(0, 4_102_444_800_000)


@given(st.lists(millis | st.sampled_from([0, 1_764_547_199_999, 1_764_547_200_000]), min_size=1, max_size=30))
def test_every_stamp_is_the_millisecond_the_clock_read(readings: list[int]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        for reading in readings:
            patch.setattr(timefmt.time, "time_ns", lambda reading=reading: reading * 1_000_000 + 999_999)
            expected = datetime.fromtimestamp(reading // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            assert timefmt.utc_now() == f"{expected}.{reading % 1000:03d}Z"


def test_the_stamp_is_now() -> None:
    before = datetime.now(UTC)
    stamp = datetime.strptime(timefmt.utc_now(), "%Y-%m-%dT%H:%M:%S.%f%z")
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stamp <= datetime.now(UTC)
    assert time.time() >= stamp.timestamp()
