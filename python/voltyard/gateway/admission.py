"""Admission control: how fast chargers may connect and talk, and who is locked out after failed logins.

(How fast they may boot is a domain decision: `voltyard.domain.boot_storm`.)

Token buckets everywhere (`voltyard._native.TokenBucket`): a rate sustained forever and a burst absorbed at
once. The clock is a parameter so that tests drive time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

# The per-message check, in the native module (a Python method cost a third of a microsecond per message).
from voltyard._native import TokenBucket

__all__ = ["AuthThrottle", "TokenBucket"]

Clock = Callable[[], float]


# The per-address flood guard trips at this many times the per-charger limit (and at least at _FLOOD_MIN):
# one NAT or APN gateway carries many chargers, each of which may fail a few times on its own.
_FLOOD_FACTOR = 20
_FLOOD_MIN = 100
_MAX_KEYS = 100_000  # bounded memory under a scan of many ids or addresses


class _Failures:
    """Failure times per key within a sliding window; a key is over once `limit` fall within `window`."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._times: dict[str, deque[float]] = {}

    def over(self, key: str) -> bool:
        times = self._times.get(key)
        if not times:
            return False
        horizon = self._clock() - self.window
        while times and times[0] < horizon:
            times.popleft()
        if not times:
            del self._times[key]
            return False
        return len(times) >= self.limit

    def add(self, key: str) -> None:
        self._times.setdefault(key, deque()).append(self._clock())
        if len(self._times) > _MAX_KEYS:
            del self._times[next(iter(self._times))]


class AuthThrottle:
    """Failed logins, counted per charger id and per source address.

    A charger id with `limit` failures within `window` seconds is locked out for the rest of the window, even
    with the right password (online guessing stops there). An address is only a flood guard, with a looser
    limit (`address_limit`): while it is over, logins from it that would need a slow password check are
    refused, but a charger presenting its right password (known by its keyed hash) still gets in, and
    profile-0 chargers are never checked at all. So one NAT or APN gateway is never a reason to lock out the
    chargers behind it.
    """

    def __init__(
        self, limit: int, window: float, clock: Clock = time.monotonic, *, address_limit: int | None = None
    ) -> None:
        self.limit = limit
        self.window = window
        self.address_limit = (
            max(limit * _FLOOD_FACTOR, _FLOOD_MIN) if address_limit is None else address_limit
        )
        self._by_charger = _Failures(limit, window, clock)
        self._by_address = _Failures(self.address_limit, window, clock)

    def charger_locked(self, charger_id: str) -> bool:
        """Whether this charger id is locked out after too many failed logins."""
        return self._by_charger.over(charger_id)

    def address_flooded(self, address: str) -> bool:
        """Whether this address sent so many failed logins that slow checks from it are refused."""
        return self._by_address.over(address)

    def failed(self, charger_id: str, address: str) -> None:
        """Count a failed login of `charger_id` from `address`."""
        self._by_charger.add(charger_id)
        self._by_address.add(address)
