"""Boot storms: after an outage every charger boots at once; how many are accepted now, and when the rest
come back.

A token bucket (`voltyard._native.TokenBucket`, the gateway's admission uses the same one) gives the rate
sustained forever and the burst absorbed at once. The clock is a parameter so that tests drive time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from voltyard._native import TokenBucket

__all__ = ["BootStorm"]

Clock = Callable[[], float]


class BootStorm:
    """Decides whether a BootNotification is accepted now or told to come back later (Pending, jittered).

    Under `rate` boots per second (plus the burst) every boot goes through; above it, boots are deferred
    with an interval drawn uniformly from [low, high], which spreads the returning chargers over time.
    """

    def __init__(
        self, rate: float, low: int, high: int, clock: Clock = time.monotonic, seed: int | None = None
    ) -> None:
        self._bucket = TokenBucket(rate, rate, clock)
        self._random = random.Random(seed)
        self.low = low
        self.high = high
        self.deferred = 0

    def defer(self) -> int | None:
        """None to accept now; else the interval (s) to send with Pending."""
        if self._bucket.take():
            return None
        self.deferred += 1
        return self._random.randint(self.low, self.high)
