"""The token bucket of admission control (`voltyard._native.TokenBucket`), driven by a test clock."""

from __future__ import annotations

import pytest
from voltyard._native import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_absorbed_then_the_rate_holds() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 3.0, clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time() == pytest.approx(0.5)
    clock.now += 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 3600  # a long pause refills up to the burst, no further
    assert sum(bucket.take() for _ in range(10)) == 3
    assert (bucket.rate, bucket.burst) == (2.0, 3.0)


def test_a_clock_stepping_back_earns_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 1.0, clock)
    assert bucket.take()
    clock.now -= 50
    assert not bucket.take()
    clock.now += 50.5
    assert not bucket.take()
    clock.now += 0.5
    assert bucket.take()


def test_the_default_clock_is_monotonic_and_native() -> None:
    bucket = TokenBucket(1000.0, 5.0)
    assert sum(bucket.take() for _ in range(5)) == 5
    assert 0.0 <= bucket.wait_time() <= 0.001


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (-1.0, 5.0), (float("nan"), 1.0), (1.0, 0.5)])
def test_a_bucket_that_could_never_grant_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="token bucket needs"):
        TokenBucket(rate, burst)


def test_a_failing_clock_fails_the_take() -> None:
    calls = iter([1.0])

    def clock() -> float:
        return next(calls)

    bucket = TokenBucket(1.0, 1.0, clock)
    with pytest.raises(StopIteration):
        bucket.take()
