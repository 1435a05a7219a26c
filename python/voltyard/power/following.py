"""The "not following" rule: a session whose metered power stays above its limit for longer than a grace
period is flagged, and cleared again once it has kept within its limit for as long.

The grace period absorbs what is not disobedience: meter samples taken before a lowered limit reached
the charger, the EV's ramp-down, and a new session's first sample carrying its connector's previous
figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["FollowWatch", "Transition"]

Transition = Literal["raised", "cleared"]


@dataclass(slots=True)
class FollowWatch:
    """Watches one session; `observe` at each rebalance."""

    grace_s: float
    tolerance_kw: float
    flagged: bool = False
    over_since: float | None = None
    within_since: float | None = None

    def observe(self, now: float, measured_kw: float | None, limit_kw: float | None) -> Transition | None:
        """Account for one reading against the limit confirmed in force; a transition when the flag flips.

        No reading, or no confirmed limit, is no evidence either way: the clocks keep running.
        """
        if measured_kw is None or limit_kw is None:
            return None
        if measured_kw > limit_kw + self.tolerance_kw:
            self.within_since = None
            if self.over_since is None:
                self.over_since = now
            if not self.flagged and now - self.over_since >= self.grace_s:
                self.flagged = True
                return "raised"
            return None
        self.over_since = None
        if self.within_since is None:
            self.within_since = now
        if self.flagged and now - self.within_since >= self.grace_s:
            self.flagged = False
            return "cleared"
        return None

    def over_for(self, now: float) -> float:
        """How long the session has been over its limit without a break (0 when it is within)."""
        return 0.0 if self.over_since is None else now - self.over_since
