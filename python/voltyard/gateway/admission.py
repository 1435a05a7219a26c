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


class AuthThrottle:
    """Locks a source address out for `window` seconds after `limit` failed logins within `window`."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def locked(self, source: str) -> bool:
        failures = self._failures.get(source)
        if not failures:
            return False
        horizon = self._clock() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[source]
            return False
        return len(failures) >= self.limit

    def failed(self, source: str) -> None:
        self._failures.setdefault(source, deque()).append(self._clock())
        if len(self._failures) > 100_000:  # bounded memory under a scan of many addresses
            oldest = next(iter(self._failures))
            del self._failures[oldest]
