"""The site power manager's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from voltyard.power.profiles import RateUnit

__all__ = ["PowerConfig"]


@dataclass(frozen=True, slots=True)
class PowerConfig:
    """The site power manager's settings (docs/power.md describes each).

    Attributes:
        rebalance_period_s: Rebalance at least this often (and at once on session start/end and limit
            changes).
        deadband_kw: A limit changes only by more than this (unless the sum would not hold otherwise).
        grace_period_s: How long a session may stay above its limit before it is flagged "not following"
            (and how long it must keep within it to be cleared).
        follow_tolerance_kw: Metered power up to this much above the limit still counts as following.
        connector_max_kw: What a connector may draw without a profile (a new session is assumed to).
        charger_max_kw: The same per charger id, where it differs.
        rate_unit: The unit (and, for amperes, voltage and phases) of chargers not configured or discovered.
        rate_units: The unit per charger id (skips discovery).
        discover_rate_unit: Ask a charger its ChargingScheduleAllowedChargingRateUnit once (watts preferred).
        profile_id_base: chargingProfileId = base + connectorId: one id per connector, since a profile with
            the same id replaces another on any connector of the charger (OCPP 1.6 §5.16).
        stack_level: The TxProfiles' stack level.
        schedule_minutes: 1-minute periods per schedule (all at the planned limit; the last one persists).
        command_timeout_s: Timeout of each command the manager sends.
        ramp_down_s: How long a lowered session may still draw its old limit: the power a lowering frees
            is given to others only after this (an EV may take up to 5 s to follow a lowered pilot
            signal, IEC 61851-1).
        start_limit_kw: What a new session may draw until its own TxProfile: installed on every charger that
            boots as its TxDefaultProfile (connector 0), so that arrivals cannot overload the site and their
            first TxProfile is a raising like any other. None: no TxDefaultProfile (a new session may draw
            its connector's maximum until its TxProfile).
        start_delay_s: A new session's first profile waits this long after its TransactionStarted, and
            until its transaction is committed (then retried this much later), so that the charger has
            its StartTransaction answer, and so its transaction id, first: a TxProfile naming a
            transaction it does not know yet is rejected.
    """

    rebalance_period_s: float = 5.0
    deadband_kw: float = 0.5
    grace_period_s: float = 30.0
    follow_tolerance_kw: float = 0.5
    connector_max_kw: float = 22.0
    charger_max_kw: Mapping[str, float] = field(default_factory=dict)
    rate_unit: RateUnit = field(default_factory=RateUnit)
    rate_units: Mapping[str, RateUnit] = field(default_factory=dict)
    discover_rate_unit: bool = True
    profile_id_base: int = 9100
    stack_level: int = 5
    schedule_minutes: int = 1
    command_timeout_s: float = 5.0
    ramp_down_s: float = 5.0
    start_limit_kw: float | None = 0.0
    start_delay_s: float = 0.2

    def __post_init__(self) -> None:
        for name in ("rebalance_period_s", "grace_period_s", "connector_max_kw", "command_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if min(self.deadband_kw, self.follow_tolerance_kw, self.start_delay_s, self.ramp_down_s) < 0:
            raise ValueError("deadband_kw, follow_tolerance_kw, start_delay_s and ramp_down_s must be >= 0")
        if self.start_limit_kw is not None and self.start_limit_kw < 0:
            raise ValueError(f"start_limit_kw must not be negative, got {self.start_limit_kw}")
        if self.schedule_minutes < 1 or self.profile_id_base < 1 or self.stack_level < 0:
            raise ValueError("schedule_minutes and profile_id_base must be >= 1, stack_level >= 0")

    def cap_kw(self, charger_id: str) -> float:
        """A connector's maximum on `charger_id`."""
        return self.charger_max_kw.get(charger_id, self.connector_max_kw)

    def profile_id(self, connector_id: int) -> int:
        return self.profile_id_base + connector_id
