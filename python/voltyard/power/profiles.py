"""The OCPP 1.6 smart-charging payloads of the site power manager, and the rate units they are written in.

A limit is planned in kW and sent in the unit the charger supports: watts, or amperes per phase at a
nominal voltage. Limits are rounded down (1 W, 0.1 A) so that what a charger is told never exceeds
what was planned; the manager then accounts for the kW the rounded figure stands for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "RateUnit",
    "clear_profile_request",
    "composite_limit_kw",
    "composite_request",
    "rate_unit_from_configuration",
    "tx_profile_request",
]

PERIOD_S = 60  # the schedule's grid: 1-minute periods (seed 002)
RATE_UNIT_KEY = "ChargingScheduleAllowedChargingRateUnit"


@dataclass(frozen=True, slots=True)
class RateUnit:
    """How a charger takes its limits: "W", or "A" per phase at `voltage_v` on `phases` phases."""

    unit: Literal["W", "A"] = "A"
    voltage_v: float = 230.0
    phases: int = 3

    def __post_init__(self) -> None:
        if self.unit not in ("W", "A"):
            raise ValueError(f"unit must be 'W' or 'A', got {self.unit!r}")
        if self.voltage_v <= 0 or self.phases not in (1, 2, 3):
            raise ValueError(f"bad electrical figures: {self.voltage_v} V on {self.phases} phases")

    def from_kw(self, kw: float) -> float:
        """The limit to send for `kw`, rounded down to the unit's resolution (1 W, 0.1 A)."""
        kw = max(0.0, kw)
        if self.unit == "W":
            return float(math.floor(kw * 1000.0 + 1e-6))
        return math.floor(kw * 1000.0 / (self.voltage_v * self.phases) * 10.0 + 1e-6) / 10.0

    def to_kw(self, limit: float, phases: int | None = None) -> float:
        """The kW a limit in this unit stands for (`phases` as a schedule period states them)."""
        if self.unit == "W":
            return limit / 1000.0
        return limit * self.voltage_v * (phases or self.phases) / 1000.0


def rate_unit_from_configuration(answer: dict[str, Any], fallback: RateUnit) -> RateUnit | None:
    """The unit to use, from a GetConfiguration answer for ChargingScheduleAllowedChargingRateUnit.

    Watts when the charger takes them (no voltage to assume), else amperes with the fallback's voltage
    and phases; None when the charger does not report the key.
    """
    for entry in answer.get("configurationKey", []):
        if entry.get("key") != RATE_UNIT_KEY or entry.get("value") is None:
            continue
        allowed = {part.strip() for part in str(entry["value"]).split(",")}
        if "Power" in allowed:
            return RateUnit("W", fallback.voltage_v, fallback.phases)
        if "Current" in allowed:
            return RateUnit("A", fallback.voltage_v, fallback.phases)
    return None


def _minute_start(epoch_s: float) -> str:
    # The schedule starts on the current whole minute, so that every charger's periods share one grid.
    start = datetime.fromtimestamp(epoch_s - epoch_s % PERIOD_S, UTC)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def tx_profile_request(
    connector_id: int,
    transaction_id: int | None,
    limit_kw: float,
    unit: RateUnit,
    *,
    profile_id: int,
    stack_level: int,
    now_epoch_s: float,
    minutes: int = 1,
) -> tuple[dict[str, Any], float]:
    """A SetChargingProfile request holding `limit_kw`, and the kW the limit sent stands for.

    A TxProfile for the transaction; without a transaction, the charger's TxDefaultProfile (connector 0,
    see `PowerConfig.start_limit_kw`). Absolute, starting on the current minute, `minutes` 1-minute
    periods at the limit and no duration: the last period stays in force until the next profile (or the
    end of the transaction), so the limit holds even if the central system goes away.
    """
    limit = unit.from_kw(limit_kw)
    period: dict[str, Any] = {"limit": limit}
    if unit.unit == "A":
        period["numberPhases"] = unit.phases
    profile: dict[str, Any] = {"chargingProfileId": profile_id}
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    profile |= {
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxProfile" if transaction_id is not None else "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": _minute_start(now_epoch_s),
            "chargingRateUnit": unit.unit,
            "chargingSchedulePeriod": [
                {"startPeriod": index * PERIOD_S, **period} for index in range(max(1, minutes))
            ],
        },
    }
    request = {
        "connectorId": connector_id if transaction_id is not None else 0,
        "csChargingProfiles": profile,
    }
    return request, unit.to_kw(limit)


def clear_profile_request(connector_id: int, profile_id: int, stack_level: int) -> dict[str, Any]:
    """ClearChargingProfile for the manager's TxProfile on a connector (and nothing else installed there)."""
    return {
        "id": profile_id,
        "connectorId": connector_id,
        "chargingProfilePurpose": "TxProfile",
        "stackLevel": stack_level,
    }


def composite_request(connector_id: int, unit: RateUnit, duration_s: int = PERIOD_S) -> dict[str, Any]:
    return {"connectorId": connector_id, "duration": duration_s, "chargingRateUnit": unit.unit}


def composite_limit_kw(answer: dict[str, Any], unit: RateUnit) -> float | None:
    """The limit in force now (the first period) of a GetCompositeSchedule answer, in kW; None if none."""
    if answer.get("status") != "Accepted":
        return None
    schedule = answer.get("chargingSchedule")
    if not schedule or not schedule.get("chargingSchedulePeriod"):
        return None
    first = min(schedule["chargingSchedulePeriod"], key=lambda period: period["startPeriod"])
    answered = RateUnit(schedule.get("chargingRateUnit", unit.unit), unit.voltage_v, unit.phases)
    return answered.to_kw(float(first["limit"]), first.get("numberPhases"))
