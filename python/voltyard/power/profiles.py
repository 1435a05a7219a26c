"""The smart-charging payloads of the site power manager, per OCPP version, and the rate units they are
written in.

A limit is planned in kW and sent in the unit the charger supports: watts, or amperes per phase at a
nominal voltage. Limits are rounded down (1 W, 0.1 A) so that what a charger is told never exceeds
what was planned; the manager then accounts for the kW the rounded figure stands for.

The same decisions go to every charger in the shapes of the version it is connected with: `shapes_for`
picks them (`OCPP16`, or `OCPP2X` for 2.0.1 and 2.1, whose SetChargingProfile, ClearChargingProfile and
GetCompositeSchedule requests are the same: 2.1 only adds optional fields the manager does not use). This
module is the one place those shapes are written; the version itself comes from the protocol layer through
a port (power sits below ocpp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

__all__ = [
    "OCPP2X",
    "OCPP16",
    "ProfileShapes",
    "RateUnit",
    "clear_profile_request",
    "composite_limit_kw",
    "composite_request",
    "rate_unit_from_configuration",
    "shapes_for",
    "tx_profile_request",
]

PERIOD_S = 60  # the schedule's grid: 1-minute periods (seed 002)
RATE_UNIT_KEY = "ChargingScheduleAllowedChargingRateUnit"
# OCPP 2.x: the device model's variable of the units a charging station takes ("A", "W" or "A,W").
RATE_UNIT_COMPONENT = "SmartChargingCtrlr"
RATE_UNIT_VARIABLE = "RateUnit"


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


def _periods(limit: float, unit: RateUnit, minutes: int) -> list[dict[str, Any]]:
    """`minutes` 1-minute periods at `limit` (1.6 and 2.x periods have the same shape)."""
    period: dict[str, Any] = {"limit": limit}
    if unit.unit == "A":
        period["numberPhases"] = unit.phases
    return [{"startPeriod": index * PERIOD_S, **period} for index in range(max(1, minutes))]


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
            "chargingSchedulePeriod": _periods(limit, unit, minutes),
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
    if not schedule:
        return None
    periods = schedule.get("chargingSchedulePeriod", [])
    return _first_period_kw(periods, schedule.get("chargingRateUnit", unit.unit), unit)


def _first_period_kw(periods: list[dict[str, Any]], rate_unit: str, unit: RateUnit) -> float | None:
    """The kW of the period in force at the start of a composite schedule; None without a limit there (2.1
    makes `limit` optional: a period may only set a discharge limit or a setpoint)."""
    if not periods:
        return None
    first = min(periods, key=lambda period: period["startPeriod"])
    if first.get("limit") is None:
        return None
    answered = RateUnit("W" if rate_unit == "W" else "A", unit.voltage_v, unit.phases)
    return answered.to_kw(float(first["limit"]), first.get("numberPhases"))


# --- OCPP 2.0.1 and 2.1 -----------------------------------------------------------------------------------

_NOT_TEXT = "an OCPP 2.x TxProfile names the charger's transactionId (text), got {!r}"


def tx_profile_request_2x(
    evse_id: int,
    transaction_id: str | None,
    limit_kw: float,
    unit: RateUnit,
    *,
    profile_id: int,
    stack_level: int,
    now_epoch_s: float,
    minutes: int = 1,
) -> tuple[dict[str, Any], float]:
    """`tx_profile_request` in the 2.x shape: `evseId` and `chargingProfile` (its `chargingSchedule` a list
    of one schedule, with an id). A TxProfile names the charger's own (text) transactionId; without a
    transaction, the TxDefaultProfile on EVSE 0 (every EVSE of the station)."""
    if transaction_id is not None and not isinstance(transaction_id, str):
        raise ValueError(_NOT_TEXT.format(transaction_id))
    limit = unit.from_kw(limit_kw)
    profile: dict[str, Any] = {
        "id": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxProfile" if transaction_id is not None else "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
    }
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    profile["chargingSchedule"] = [
        {
            # One schedule per profile: the profile's id serves it too (one per EVSE, as the profile's).
            "id": profile_id,
            "startSchedule": _minute_start(now_epoch_s),
            "chargingRateUnit": unit.unit,
            "chargingSchedulePeriod": _periods(limit, unit, minutes),
        }
    ]
    request = {"evseId": evse_id if transaction_id is not None else 0, "chargingProfile": profile}
    return request, unit.to_kw(limit)


def clear_profile_request_2x(evse_id: int, profile_id: int, stack_level: int) -> dict[str, Any]:
    """ClearChargingProfile for the manager's TxProfile on an EVSE, in the 2.x shape."""
    criteria = {"evseId": evse_id, "chargingProfilePurpose": "TxProfile", "stackLevel": stack_level}
    return {"chargingProfileId": profile_id, "chargingProfileCriteria": criteria}


def composite_request_2x(evse_id: int, unit: RateUnit, duration_s: int = PERIOD_S) -> dict[str, Any]:
    return {"evseId": evse_id, "duration": duration_s, "chargingRateUnit": unit.unit}


def composite_limit_kw_2x(answer: dict[str, Any], unit: RateUnit) -> float | None:
    """`composite_limit_kw` of a 2.x answer: its `schedule` (a CompositeScheduleType)."""
    if answer.get("status") != "Accepted":
        return None
    schedule = answer.get("schedule")
    if not schedule:
        return None
    return _first_period_kw(schedule.get("chargingSchedulePeriod", []), schedule["chargingRateUnit"], unit)


def rate_unit_question_2x() -> dict[str, Any]:
    """GetVariables for SmartChargingCtrlr.RateUnit: the units the station takes."""
    component, variable = {"name": RATE_UNIT_COMPONENT}, {"name": RATE_UNIT_VARIABLE}
    return {"getVariableData": [{"component": component, "variable": variable}]}


def rate_unit_from_variables(answer: dict[str, Any], fallback: RateUnit) -> RateUnit | None:
    """The unit to use from a GetVariables answer for SmartChargingCtrlr.RateUnit (watts preferred, as for
    1.6); None when the station does not report the variable."""
    for result in answer.get("getVariableResult", []):
        if (
            result.get("component", {}).get("name") != RATE_UNIT_COMPONENT
            or result.get("variable", {}).get("name") != RATE_UNIT_VARIABLE
            or result.get("attributeStatus") != "Accepted"
            or result.get("attributeValue") is None
        ):
            continue
        allowed = {part.strip() for part in str(result["attributeValue"]).split(",")}
        if "W" in allowed:
            return RateUnit("W", fallback.voltage_v, fallback.phases)
        if "A" in allowed:
            return RateUnit("A", fallback.voltage_v, fallback.phases)
    return None


# --- the shapes of each version ------------------------------------------------------------------------


class ProfileShapes(Protocol):
    """The manager's payloads in one OCPP version: where a 1.6 request names a connector, a 2.x one names
    an EVSE (EVSE n is connector n of the one connector model)."""

    @property
    def version(self) -> str: ...

    def limit_request(
        self,
        place: int,
        transaction: int | str | None,
        limit_kw: float,
        unit: RateUnit,
        *,
        profile_id: int,
        stack_level: int,
        now_epoch_s: float,
        minutes: int,
    ) -> tuple[dict[str, Any], float]: ...

    def clear_request(self, place: int, profile_id: int, stack_level: int) -> dict[str, Any]: ...

    def composite_request(self, place: int, unit: RateUnit) -> dict[str, Any]: ...

    def composite_limit_kw(self, answer: dict[str, Any], unit: RateUnit) -> float | None: ...

    def unit_question(self) -> tuple[str, dict[str, Any]]: ...

    def unit_answer(self, answer: dict[str, Any], fallback: RateUnit) -> RateUnit | None: ...


@dataclass(frozen=True, slots=True)
class _Ocpp16:
    version: str = "1.6"

    def limit_request(
        self,
        place: int,
        transaction: int | str | None,
        limit_kw: float,
        unit: RateUnit,
        *,
        profile_id: int,
        stack_level: int,
        now_epoch_s: float,
        minutes: int,
    ) -> tuple[dict[str, Any], float]:
        if transaction is not None and not isinstance(transaction, int):
            raise ValueError(f"an OCPP 1.6 TxProfile names an integer transactionId, got {transaction!r}")
        return tx_profile_request(
            place, transaction, limit_kw, unit, profile_id=profile_id, stack_level=stack_level,
            now_epoch_s=now_epoch_s, minutes=minutes,
        )  # fmt: skip

    def clear_request(self, place: int, profile_id: int, stack_level: int) -> dict[str, Any]:
        return clear_profile_request(place, profile_id, stack_level)

    def composite_request(self, place: int, unit: RateUnit) -> dict[str, Any]:
        return composite_request(place, unit)

    def composite_limit_kw(self, answer: dict[str, Any], unit: RateUnit) -> float | None:
        return composite_limit_kw(answer, unit)

    def unit_question(self) -> tuple[str, dict[str, Any]]:
        return "GetConfiguration", {"key": [RATE_UNIT_KEY]}

    def unit_answer(self, answer: dict[str, Any], fallback: RateUnit) -> RateUnit | None:
        return rate_unit_from_configuration(answer, fallback)


@dataclass(frozen=True, slots=True)
class _Ocpp2x:
    version: str = "2.x"

    def limit_request(
        self,
        place: int,
        transaction: int | str | None,
        limit_kw: float,
        unit: RateUnit,
        *,
        profile_id: int,
        stack_level: int,
        now_epoch_s: float,
        minutes: int,
    ) -> tuple[dict[str, Any], float]:
        if isinstance(transaction, int):
            raise ValueError(_NOT_TEXT.format(transaction))
        return tx_profile_request_2x(
            place, transaction, limit_kw, unit, profile_id=profile_id, stack_level=stack_level,
            now_epoch_s=now_epoch_s, minutes=minutes,
        )  # fmt: skip

    def clear_request(self, place: int, profile_id: int, stack_level: int) -> dict[str, Any]:
        return clear_profile_request_2x(place, profile_id, stack_level)

    def composite_request(self, place: int, unit: RateUnit) -> dict[str, Any]:
        return composite_request_2x(place, unit)

    def composite_limit_kw(self, answer: dict[str, Any], unit: RateUnit) -> float | None:
        return composite_limit_kw_2x(answer, unit)

    def unit_question(self) -> tuple[str, dict[str, Any]]:
        return "GetVariables", rate_unit_question_2x()

    def unit_answer(self, answer: dict[str, Any], fallback: RateUnit) -> RateUnit | None:
        return rate_unit_from_variables(answer, fallback)


OCPP16: ProfileShapes = _Ocpp16()
OCPP2X: ProfileShapes = _Ocpp2x()
_SHAPES: dict[str, ProfileShapes] = {"1.6": OCPP16, "2.0.1": OCPP2X, "2.1": OCPP2X}


def shapes_for(version: str) -> ProfileShapes:
    """The payloads for a charger connected with OCPP `version` ("1.6", "2.0.1" or "2.1")."""
    shapes = _SHAPES.get(version)
    if shapes is None:
        raise ValueError(f"no charging-profile shapes for OCPP {version!r} (known: {', '.join(_SHAPES)})")
    return shapes
