"""One charging session as the site power manager sees it: its limit in force, its target, its watch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        started_at: When the manager heard of it (monotonic; minus infinity for one taken over at start).
        start_kw: What it may draw before its first TxProfile: its charger's TxDefaultProfile limit when
            that was in force as it started, else None (its connector's maximum).
        charger_tx_id: An OCPP 2.x transaction's own (text) transactionId, which its TxProfile names (None
            for 1.6, whose TxProfile names `transaction_id`).
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
    started_at: float = float("-inf")
    start_kw: float | None = None
    charger_tx_id: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.charger_id, self.connector_id)

    @property
    def charger_transaction(self) -> int | str:
        """The transaction as the charger names it: the 2.x charger's text id, else the 1.6 integer id."""
        return self.transaction_id if self.charger_tx_id is None else self.charger_tx_id

    @property
    def assumed_kw(self) -> float:
        """The most it may draw as far as we know: the confirmed limit, else what it started with."""
        if self.confirmed_kw is not None:
            return self.confirmed_kw
        return self.cap_kw if self.start_kw is None else min(self.start_kw, self.cap_kw)

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

    def describe(self, measured_kw: float | None) -> dict[str, Any]:
        """Its entry in a SitePlan event."""
        return {
            "chargerId": self.charger_id,
            "connectorId": self.connector_id,
            "transactionId": self.transaction_id,
            "cap_kw": self.cap_kw,
            "target_kw": self.target_kw,
            "limit_kw": self.confirmed_kw,
            "reported_kw": self.reported_kw,
            "measured_kw": measured_kw,
            "uncertain": self.uncertain,
            "notFollowing": self.watch.flagged,
            "error": self.error,
        }
