"""Live progress of a run: one line rewritten in place on a terminal, plain lines every few seconds otherwise.

Driven by the fleet's 1 s ticker, so it costs nothing between ticks and needs no task of its own.
"""

from __future__ import annotations

from typing import TextIO

from voltyard.sim.stats import Counters, TimelinePoint

__all__ = ["Progress"]


class Progress:
    """Prints ticks to `out`: every tick on a TTY (in place), every `every` seconds otherwise."""

    def __init__(self, out: TextIO, chargers: int, *, tty: bool | None = None, every: float = 5.0) -> None:
        self.out = out
        self.chargers = chargers
        self.tty = out.isatty() if tty is None else tty
        self.every = every
        self._last_printed = -1e9

    def line(self, point: TimelinePoint, counters: Counters) -> str:
        text = (
            f"t={point.t:6.0f}s connected {point.connected}/{self.chargers} booted {point.booted} "
            f"sessions {point.sessions} (done {counters.sessions_ended}) "
            f"{point.calls_per_s:8.0f} msg/s p99 {point.p99_ms:7.2f} ms errors {counters.call_errors}"
        )
        if point.sessions:
            text += f" site {point.site_power_kw:.1f} kW"
        return text

    def tick(self, point: TimelinePoint, counters: Counters) -> None:
        if self.tty:
            self.out.write("\r\x1b[2K" + self.line(point, counters))
            self.out.flush()
        elif point.t - self._last_printed >= self.every:
            self._last_printed = point.t
            print(self.line(point, counters), file=self.out, flush=True)

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()
