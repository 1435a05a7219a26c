"""The RelayControl period figures the cabinet benchmark reports: both tails of 100 ± 20 ms count."""

from __future__ import annotations

import pytest
from voltyard.sim.plc_device import PeriodStats


def test_the_share_within_the_band_counts_early_and_late_periods() -> None:
    periods = [0.100] * 96 + [0.079, 0.121, 0.080, 0.120]

    stats = PeriodStats.of(periods)

    assert stats.count == 100
    assert stats.share_within_20_ms == pytest.approx(0.98)
    assert stats.min_ms == pytest.approx(79.0)
    assert stats.max_ms == pytest.approx(121.0)


def test_a_catch_up_burst_shows_in_the_low_percentile() -> None:
    periods = [0.100] * 90 + [0.020] * 10

    stats = PeriodStats.of(periods)

    assert stats.p1_ms == pytest.approx(20.0)
    assert stats.p50_ms == pytest.approx(100.0)
    assert stats.share_within_20_ms == pytest.approx(0.90)


def test_too_few_periods_give_zero_figures_not_an_error() -> None:
    assert PeriodStats.of([0.1]).count == 1
    assert PeriodStats.of([]).share_within_20_ms == 0.0
