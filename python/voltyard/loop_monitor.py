"""Event-loop lag: how late the loop runs a callback that was due. Every charger's latency includes it,
so it is measured continuously (for metrics) and a stall is logged with its length."""

from __future__ import annotations

import asyncio
import logging
import time

__all__ = ["LoopMonitor"]

log = logging.getLogger(__name__)


class LoopMonitor:
    """Samples the lag every `period` seconds; keeps the worst since the last `take_max`."""

    def __init__(self, period: float = 0.05, warn_after: float = 0.1) -> None:
        self.period = period
        self.warn_after = warn_after
        self.max_lag = 0.0
        self.samples = 0

    def take_max(self) -> float:
        worst, self.max_lag = self.max_lag, 0.0
        return worst

    async def run(self) -> None:
        while True:
            due = time.monotonic() + self.period
            await asyncio.sleep(self.period)
            lag = max(0.0, time.monotonic() - due)
            self.samples += 1
            self.max_lag = max(self.max_lag, lag)
            if lag > self.warn_after:
                log.warning("event loop stalled for %.0f ms", lag * 1000)
