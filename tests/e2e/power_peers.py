"""The `ocpp` library's charge points of each version (1.6, 2.0.1, 2.1) as chargers under the site power
manager: each takes its limits (TxDefaultProfile, TxProfile), answers its rate unit and its composite
schedule, and records what it got. The library validates every call against its own version's schemas before
a handler runs, so what the handlers record is what the charger got in its own version. Shared by the e2e
test (tests/e2e/test_power_mixed_fleet.py) and the journey (tests/journeys/test_power2x_mixed_fleet.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call_result as result21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201

NOW = "2026-11-25T10:00:00Z"
VOLTS = 230.0  # the manager's default nominal voltage (PowerConfig.rate_unit), for amperes
CONNECTOR_MAX_KW = 22.0
EPS_KW = 0.01
WAIT_S = 30.0  # a hang guard, not a timing assertion


def kw_of(unit: str, limit: Any, phases: int | None) -> float:
    limit = float(limit)  # the library reads numbers as Decimal
    return limit / 1000.0 if unit == "W" else limit * VOLTS * (phases or 3) / 1000.0


def in_unit(unit: str | None, kw: float) -> tuple[float, int | None]:
    return (kw * 1000.0, None) if unit in (None, "W") else (kw * 1000.0 / (VOLTS * 3), 3)


@dataclass
class Grid:
    """What every charger holds now; checked after each raise a charger applies."""

    limit_kw: Callable[[], float]
    chargers: list[PowerPeer] = field(default_factory=list)
    after_raises: list[tuple[float, float]] = field(default_factory=list)  # (sum in force, limit)

    def in_force_kw(self) -> float:
        return sum(charger.in_force_kw() for charger in self.chargers if charger.charging)


class PowerPeer:
    """What a charger of any version does with its limits: the TxDefaultProfile (on connector/EVSE 0) until
    its session's TxProfile, and its composite schedule is the limit in force."""

    version = ""
    rate_units = ""

    def setup(self, grid: Grid) -> None:
        self.grid = grid
        self.got: list[tuple[str, dict[str, Any]]] = []  # (action, the request as the handler got it)
        self.default_kw: float | None = None
        self.tx_kw: float | None = None
        self.transaction_id: int | str | None = None
        self.charging = False
        grid.chargers.append(self)

    def in_force_kw(self) -> float:
        if self.tx_kw is not None:
            return self.tx_kw
        return CONNECTOR_MAX_KW if self.default_kw is None else min(self.default_kw, CONNECTOR_MAX_KW)

    def apply(self, purpose: str, transaction_id: int | str | None, schedule: dict[str, Any]) -> str:
        period = min(schedule["charging_schedule_period"], key=lambda p: p["start_period"])
        kw = kw_of(schedule["charging_rate_unit"], period["limit"], period.get("number_phases"))
        before = self.in_force_kw()
        if purpose == "TxDefaultProfile":
            self.default_kw = kw
        elif purpose == "TxProfile" and transaction_id == self.transaction_id and self.charging:
            self.tx_kw = kw
        else:
            return "Rejected"
        if self.charging and self.in_force_kw() > before:
            self.grid.after_raises.append((self.grid.in_force_kw(), self.grid.limit_kw()))
        return "Accepted"

    def composite(self, unit: str | None) -> tuple[str, list[dict[str, Any]]]:
        limit, phases = in_unit(unit, self.in_force_kw())
        period: dict[str, Any] = {"startPeriod": 0, "limit": round(limit, 1)}
        if phases is not None:
            period["numberPhases"] = phases
        return unit or "W", [period]

    def actions(self) -> list[str]:
        return [action for action, _ in self.got]


class Peer16(ChargePoint16, PowerPeer):  # type: ignore[misc]
    version = "1.6"

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        self.got.append(("GetConfiguration", {"key": key}))
        value = {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current,Power"}
        return result16.GetConfiguration(configuration_key=[value])

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        self.got.append(("SetChargingProfile", {"connector_id": connector_id, **cs_charging_profiles}))
        profile = cs_charging_profiles
        status = self.apply(
            profile["charging_profile_purpose"], profile.get("transaction_id"), profile["charging_schedule"]
        )
        return result16.SetChargingProfile(status=status)

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        self.got.append(("GetCompositeSchedule", {"connector_id": connector_id, "duration": duration}))
        unit, periods = self.composite(charging_rate_unit)
        schedule = {"chargingRateUnit": unit, "chargingSchedulePeriod": periods, "duration": duration}
        return result16.GetCompositeSchedule(
            status="Accepted", connector_id=connector_id, schedule_start=NOW, charging_schedule=schedule
        )

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **request: Any) -> Any:
        self.got.append(("ClearChargingProfile", request))
        return result16.ClearChargingProfile(status="Accepted")


class Peer2x(PowerPeer):
    """The 2.x handlers' bodies (2.0.1 and 2.1 send the same shapes; each subclass routes its own)."""

    result: Any = None

    def variables(self, get_variable_data: list[dict[str, Any]]) -> Any:
        self.got.append(("GetVariables", {"get_variable_data": get_variable_data}))
        results = [
            {
                "attributeStatus": "Accepted",
                "attributeValue": self.rate_units,
                "component": {"name": item["component"]["name"]},
                "variable": {"name": item["variable"]["name"]},
            }
            for item in get_variable_data
        ]
        return self.result.GetVariables(get_variable_result=results)

    def set_profile(self, evse_id: int, charging_profile: dict[str, Any]) -> Any:
        self.got.append(("SetChargingProfile", {"evse_id": evse_id, **charging_profile}))
        (schedule,) = charging_profile["charging_schedule"]
        status = self.apply(
            charging_profile["charging_profile_purpose"], charging_profile.get("transaction_id"), schedule
        )
        return self.result.SetChargingProfile(status=status)

    def composite_schedule(self, evse_id: int, duration: int, charging_rate_unit: str | None) -> Any:
        self.got.append(("GetCompositeSchedule", {"evse_id": evse_id, "duration": duration}))
        unit, periods = self.composite(charging_rate_unit)
        schedule = {
            "evseId": evse_id, "duration": duration, "scheduleStart": NOW, "chargingRateUnit": unit,
            "chargingSchedulePeriod": periods,
        }  # fmt: skip
        return self.result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    def clear(self, request: dict[str, Any]) -> Any:
        self.got.append(("ClearChargingProfile", request))
        return self.result.ClearChargingProfile(status="Accepted")


class Peer201(ChargePoint201, Peer2x):  # type: ignore[misc]
    version = "2.0.1"
    rate_units = "A"  # told in amperes
    result = result201

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return self.variables(get_variable_data)

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        return self.set_profile(evse_id, charging_profile)

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        return self.composite_schedule(evse_id, duration, charging_rate_unit)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **request: Any) -> Any:
        return self.clear(request)


class Peer21(ChargePoint21, Peer2x):  # type: ignore[misc]
    version = "2.1"
    rate_units = "A,W"  # takes both: told in watts
    result = result21

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return self.variables(get_variable_data)

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        return self.set_profile(evse_id, charging_profile)

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        return self.composite_schedule(evse_id, duration, charging_rate_unit)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **request: Any) -> Any:
        return self.clear(request)


@contextlib.asynccontextmanager
async def connected(url: str, charger_id: str, kind: type[Any], grid: Grid) -> AsyncIterator[Any]:
    """A charger of `kind` on `url` (the OCPP endpoint, without the charger id) for the block."""
    protocol = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}[kind.version]
    websocket = await websockets.connect(f"{url}/{charger_id}", subprotocols=[protocol], open_timeout=WAIT_S)  # type: ignore[list-item]
    assert websocket.subprotocol == protocol
    peer = kind(charger_id, websocket, response_timeout=10)
    peer.setup(grid)
    runner = asyncio.create_task(peer.start())
    try:
        yield peer
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await runner
        await websocket.close()


async def until(condition: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await asyncio.sleep(0.05)
    assert condition(), what
