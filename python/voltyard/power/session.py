"""One charging session as the site power manager sees it: its limit in force, its target, its watch."""

from __future__ import annotations

from dataclasses import dataclass

from voltyard.power.following import FollowWatch

__all__ = ["Session"]


@dataclass(slots=True, eq=False)
class Session:
    """One active transaction under the manager's control.

    Attributes:
        confirmed_kw: The limit the charger accepted; None while none has been (it may draw `cap_kw`).
        uncertain: A command timed out, so the charger may or may not have applied it: `confirmed_kw`
            holds the higher of the old and the new limit, and the limit is sent again.
        target_kw: The last planned limit.
        reported_kw: The limit GetCompositeSchedule reported after the last accepted profile.
        error: Why the last command failed (None after a success).
        failures, retry_at: Consecutive failures, and when (monotonic) the next try is due.
    """

    charger_id: str
    connector_id: int
    transaction_id: int
    cap_kw: float
    watch: FollowWatch
    confirmed_kw: float | None = None
    uncertain: bool = False
    target_kw: float | None = None
    reported_kw: float | None = None
    error: str | None = None
    failures: int = 0
    retry_at: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        return (self.charger_id, self.connector_id)

    @property
    def assumed_kw(self) -> float:
        """The most it may draw as far as we know: the confirmed limit, else its connector's maximum."""
        return self.cap_kw if self.confirmed_kw is None else self.confirmed_kw

    @property
    def fixed(self) -> bool:
        """Planned as a fixed load at what it may draw: not following its limit, or not reachable now (its
        last command failed), so a new limit cannot be counted on."""
        return self.watch.flagged or self.failures > 0

    def effective_kw(self, measured_kw: float | None) -> float:
        """What it may draw: its assumed limit, or what it is metered at when it does not follow it."""
        if self.watch.flagged and measured_kw is not None:
            return max(measured_kw, self.assumed_kw)
        return self.assumed_kw
