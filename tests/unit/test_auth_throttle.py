"""The failed-login throttle (voltyard.gateway.admission.AuthThrottle), with a clock the test drives.

Issue 17, finding 4: the lock-out was per source address, so a few wrong passwords locked out every
charger behind one NAT or APN gateway. It is now per charger id, with a looser per-address flood guard.
"""

from __future__ import annotations

from voltyard.gateway.admission import AuthThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_charger_id_is_locked_out_after_its_own_failures_only() -> None:
    throttle = AuthThrottle(3, 60.0, Clock())
    for _ in range(3):
        assert not throttle.charger_locked("CP-A")
        throttle.failed("CP-A", "10.0.0.1")
    assert throttle.charger_locked("CP-A")
    assert not throttle.charger_locked("CP-B"), "a neighbour behind the same address was locked out"
    assert not throttle.address_flooded("10.0.0.1")


def test_the_lock_out_ends_with_the_window() -> None:
    clock = Clock()
    throttle = AuthThrottle(2, 60.0, clock)
    throttle.failed("CP-A", "10.0.0.1")
    throttle.failed("CP-A", "10.0.0.2")  # from anywhere: the id is what is guessed at
    assert throttle.charger_locked("CP-A")
    clock.now += 61
    assert not throttle.charger_locked("CP-A")


def test_an_address_is_only_a_flood_guard_with_a_looser_limit() -> None:
    throttle = AuthThrottle(5, 60.0, Clock())
    assert throttle.address_limit == 100  # 20 times the per-id limit, at least 100
    assert AuthThrottle(10, 60.0, Clock()).address_limit == 200
    for n in range(99):
        throttle.failed(f"SCAN{n}", "10.0.0.1")
    assert not throttle.address_flooded("10.0.0.1")
    throttle.failed("SCAN99", "10.0.0.1")
    assert throttle.address_flooded("10.0.0.1")
    assert not throttle.address_flooded("10.0.0.2")
    assert not any(throttle.charger_locked(f"SCAN{n}") for n in range(100))


def test_memory_stays_bounded_under_a_scan() -> None:
    throttle = AuthThrottle(5, 60.0, Clock())
    for n in range(100_050):
        throttle.failed(f"ID{n}", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
    assert len(throttle._by_charger._times) <= 100_000
    assert len(throttle._by_address._times) <= 100_000
