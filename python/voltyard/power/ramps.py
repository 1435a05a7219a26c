"""Power freed by lowered limits that is not free yet: an EV follows a lowered limit within seconds, not
at once (IEC 61851-1 allows it 5 s to follow a lowered pilot signal), so what a lowering frees is given
to others only once the ramp-down is over. This is "lowering before raising" in watts, not only in the
order of the commands.
"""

from __future__ import annotations

__all__ = ["RampDowns"]


class RampDowns:
    """The lowerings still ramping down: (until, kW freed) on a monotonic clock."""

    def __init__(self, ramp_s: float) -> None:
        self.ramp_s = ramp_s
        self._ramps: list[tuple[float, float]] = []

    def lowered(self, now: float, freed_kw: float) -> None:
        """A limit was lowered by `freed_kw` at `now`."""
        if self.ramp_s > 0 and freed_kw > 0:
            self._ramps.append((now + self.ramp_s, freed_kw))

    def kw(self, now: float) -> float:
        """What lowered sessions may still draw above their new limits at `now`."""
        self._ramps = [(until, kw) for until, kw in self._ramps if until > now]
        return sum(kw for _, kw in self._ramps)

    def next_end(self) -> float | None:
        """When the earliest ramp-down still counted ends (None when none is)."""
        return min((until for until, _ in self._ramps), default=None)
