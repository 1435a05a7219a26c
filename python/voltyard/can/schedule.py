"""A drift-free periodic callback on the event loop: tick k runs at `start + k * period`, not
`period` after the previous tick ran, so lateness never accumulates. A tick missed by more than a
whole period (a stalled loop) is skipped rather than run in a burst: RelayControl frames sent
back-to-back would say nothing the next one does not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class PeriodicTimer:
    __slots__ = ("_callback", "_handle", "_loop", "_next", "_period")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, period: float, callback: Callable[[float], None]
    ) -> None:
        self._loop = loop
        self._period = period
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0.0

    def start(self, phase: float = 0.0) -> None:
        """First tick `phase` seconds from now (guns are staggered so their frames do not bunch)."""
        self.stop()
        self._next = self._loop.time() + phase
        self._handle = self._loop.call_at(self._next, self._run)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def running(self) -> bool:
        return self._handle is not None

    def _run(self) -> None:
        now = self._loop.time()
        self._next += self._period
        if now >= self._next:  # more than a period late: skip to the next slot in the future
            missed = int((now - self._next) // self._period) + 1
            self._next += missed * self._period
        self._handle = self._loop.call_at(self._next, self._run)
        self._callback(now)
