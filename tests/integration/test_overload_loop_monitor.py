"""The loop monitor under overload (issue 18): every stall counted and binned for /metrics, a few logged."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from voltyard.loop_monitor import LAG_BUCKETS, LogLimiter, LoopMonitor


class _Clock:
    """Time that the test moves (the limiter takes its clock as a parameter)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_kind_of_line_is_let_through_a_few_times_a_period_and_the_rest_counted() -> None:
    clock = _Clock()
    limiter = LogLimiter(lines=3, period=10.0, clock=clock)
    assert [limiter.allow("stall") for _ in range(5)] == [0, 0, 0, None, None]
    assert limiter.allow("other kind") == 0  # kinds are counted apart
    clock.now = 10.0
    assert limiter.allow("stall") == 2  # the next line says how many were held back
    assert limiter.allow("stall") == 0
    assert limiter.suppressed == 2


def test_a_storm_of_stalls_is_counted_in_full_and_logged_a_few_times(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = LoopMonitor()
    with caplog.at_level(logging.WARNING, logger="voltyard.loop_monitor"):
        for _ in range(100):
            monitor.record(0.3)
        monitor.record(0.0002)
    assert monitor.stalls == 100
    assert 1 <= len(caplog.records) <= 10
    assert monitor.lag_counts[0] == 1  # under a millisecond
    assert monitor.lag_counts[LAG_BUCKETS.index(0.5)] == 100  # 250-500 ms
    assert monitor.samples == 101


async def test_the_monitor_sees_a_loop_that_is_behind_now() -> None:
    monitor = LoopMonitor(period=0.01)
    task = asyncio.create_task(monitor.run())
    try:
        while monitor.samples < 3:
            await asyncio.sleep(0.01)
        assert not monitor.lagging(0.5)
        time.sleep(0.6)  # the loop is held: its next sample is overdue
        assert monitor.lagging(0.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
