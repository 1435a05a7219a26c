"""Event-loop lag: how late the loop runs a callback that was due. Every charger's latency includes it,
so it is measured continuously (a histogram for /metrics, the worst since the last scrape), a stall is logged
with its length, and admission reads the current lag (`lagging`) to refuse new chargers while the loop is
behind. It also reads the process's resident memory once a second (`rss_bytes`), which admission reads too.

Also here, because overload is what floods logs: `LogLimiter`, which lets a kind of log line through a few
times per period and then counts what it held back, so that 10 000 chargers misbehaving at once write a few
lines a second, not millions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from voltyard.gc_tuning import GcPauses

__all__ = ["LAG_BUCKETS", "LogLimiter", "LoopMonitor", "resident_bytes"]

log = logging.getLogger(__name__)

# Seconds. A healthy loop is late by well under a millisecond; a stall is over `warn_after`.
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Lines of one kind let through per period, and the period (seconds).
_LINES_PER_PERIOD = 10
_PERIOD_S = 10.0
_MAX_KINDS = 1000  # bounded memory whatever the callers pass as kinds
_RSS_EVERY = 20  # samples between two readings of the resident memory (a second at the default period)
_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """The process's resident memory now (Linux: /proc/self/statm); 0 where it cannot be read."""
    try:
        return int(_STATM.read_bytes().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class LogLimiter:
    """Lets `lines` lines of one kind through per `period` seconds; counts the rest.

    `allow(kind)` is None while a kind is over its share (the caller skips its line), else the number of its
    lines held back since the last one let through (the caller says so in its line, when not 0).
    """

    def __init__(
        self,
        lines: int = _LINES_PER_PERIOD,
        period: float = _PERIOD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lines = lines
        self.period = period
        self._clock = clock
        # kind -> [start of its period, lines let through in it, lines held back since the last one through]
        self._kinds: dict[object, list[float]] = {}
        self.suppressed = 0  # in all (for /metrics)

    def allow(self, kind: object) -> int | None:
        now = self._clock()
        state = self._kinds.get(kind)
        if state is None:
            if len(self._kinds) >= _MAX_KINDS:
                self._kinds.clear()
            state = self._kinds[kind] = [now, 0.0, 0.0]
        if now - state[0] >= self.period:
            state[0], state[1] = now, 0.0
        if state[1] >= self.lines:
            state[2] += 1
            self.suppressed += 1
            return None
        state[1] += 1
        held, state[2] = int(state[2]), 0.0
        return held


class LoopMonitor:
    """Samples the lag every `period` seconds; keeps the worst since the last `take_max`, a histogram of
    every sample, and the count of stalls (samples over `warn_after`)."""

    def __init__(self, period: float = 0.05, warn_after: float = 0.1) -> None:
        self.period = period
        self.warn_after = warn_after
        self.max_lag = 0.0
        self.last_lag = 0.0
        self.samples = 0
        self.stalls = 0
        self.lag_counts = [0] * (len(LAG_BUCKETS) + 1)
        self.lag_sum = 0.0
        self.rss_bytes = resident_bytes()
        self.gc_pauses = GcPauses()  # one cause of lag, told apart from the rest
        self._limiter = LogLimiter()

    def take_max(self) -> float:
        worst, self.max_lag = self.max_lag, 0.0
        return worst

    def lagging(self, threshold: float) -> bool:
        """Whether the loop is behind by more than `threshold` seconds now: the last sample, or the time
        since the sample that is due (a loop stalled right now has not taken its next sample yet)."""
        return self.last_lag > threshold or time.monotonic() - self._due > threshold

    _due = float("inf")

    async def run(self) -> None:
        while True:
            due = self._due = time.monotonic() + self.period
            await asyncio.sleep(self.period)
            lag = max(0.0, time.monotonic() - due)
            self.record(lag)

    def record(self, lag: float) -> None:
        """One sample of the lag (seconds)."""
        self.samples += 1
        if self.samples % _RSS_EVERY == 0:
            self.rss_bytes = resident_bytes()
        self.last_lag = lag
        self.lag_sum += lag
        self.max_lag = max(self.max_lag, lag)
        index = 0
        while index < len(LAG_BUCKETS) and lag > LAG_BUCKETS[index]:
            index += 1
        self.lag_counts[index] += 1
        if lag > self.warn_after:
            self.stalls += 1
            held = self._limiter.allow("stall")
            if held is None:
                return
            if held:
                log.warning("event loop stalled for %.0f ms (%d more stalls not logged)", lag * 1000, held)
            else:
                log.warning("event loop stalled for %.0f ms", lag * 1000)
