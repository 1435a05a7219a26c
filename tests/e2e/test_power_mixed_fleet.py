"""End to end: a mixed fleet under one site limit (issue 20, Done-when 3).

One appliance with its site power manager on, and three independent chargers over real sockets, each the
`ocpp` library's ChargePoint of its version: 1.6 (ocpp.v16), 2.0.1 (ocpp.v201) and 2.1 (ocpp.v21), each
charging one session. The library validates every call it receives against its own version's schemas
before its handler runs (an invalid one is answered with a CALLERROR and never reaches the handler), so
what a charger's handlers record is what it got, in its own version.

Asserted: the limits the chargers hold never sum above the site limit after a raise (nor once settled,
before and after the operator lowers it); every session is stored once; each charger got its start limit,
its TxProfile (2.x: naming its own text transactionId) and the GetCompositeSchedule read-back in its own
version, and the read-back is what the manager counts; each ended session's profile is cleared in its
version's shape.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from voltyard.runtime import Appliance

from tests.e2e.peer import open_websocket

NOW = "2026-11-25T10:00:00Z"
VOLTS = 230.0  # the manager's default nominal voltage (PowerConfig.rate_unit), for amperes
LIMIT_KW = 30.0
LOWERED_KW = 12.0
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
async def connected(port: int, charger_id: str, kind: type[Any], grid: Grid) -> AsyncIterator[Any]:
    protocol = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}[kind.version]
    websocket = await open_websocket(port, charger_id, [protocol])
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


@pytest.fixture
async def powered(appliance_config) -> AsyncIterator[Appliance]:
    power = {
        "enabled": True, "rebalance_period_s": 0.5, "start_delay_s": 0.1, "ramp_down_s": 0.2,
        "command_timeout_s": 5.0, "connector_max_kw": CONNECTOR_MAX_KW, "start_limit_kw": 0.0,
    }  # fmt: skip
    running = Appliance(appliance_config(ocpp={"unknown_id_tag": "accept"}, power=power))
    await running.start()
    yield running
    await running.stop()


async def test_a_mixed_fleet_shares_one_site_limit_each_in_its_own_version(powered: Appliance) -> None:
    appliance = powered
    await appliance.site.set_limit(LIMIT_KW)
    manager = appliance.power
    assert manager is not None
    grid = Grid(lambda: appliance.site.limit_kw)
    port = appliance.ocpp_port
    id_token = {"idToken": "TAG-2X", "type": "ISO14443"}
    async with (
        connected(port, "MIX-16", Peer16, grid) as p16,
        connected(port, "MIX-201", Peer201, grid) as p201,
        connected(port, "MIX-21", Peer21, grid) as p21,
    ):
        peers = (p16, p201, p21)
        await p16.call(call16.BootNotification(charge_point_model="M16", charge_point_vendor="V"))
        station = {"model": "M2", "vendorName": "V"}
        await p201.call(call201.BootNotification(charging_station=station, reason="PowerUp"))
        await p21.call(call21.BootNotification(charging_station=station, reason="PowerUp"))
        # Every charger gets its start limit (its TxDefaultProfile) in its version after its boot.
        await until(lambda: all(p.default_kw is not None for p in peers), "every charger got its start limit")

        for peer in peers:
            peer.charging = True
        started = await p16.call(
            call16.StartTransaction(connector_id=1, id_tag="TAG-16", meter_start=0, timestamp=NOW)
        )
        p16.transaction_id = started.transaction_id
        p201.transaction_id, p21.transaction_id = "TX-201-A", "TX-21-A"
        await p201.call(
            call201.TransactionEvent(
                event_type="Started", trigger_reason="Authorized", seq_no=0, timestamp=NOW,
                transaction_info={"transactionId": "TX-201-A"}, id_token=id_token,
                evse={"id": 1, "connectorId": 1},
            )
        )  # fmt: skip
        await p21.call(
            call21.TransactionEvent(
                event_type="Started", trigger_reason="Authorized", seq_no=0, timestamp=NOW,
                transaction_info={"transactionId": "TX-21-A"}, id_token=id_token,
                evse={"id": 1, "connectorId": 1},
            )
        )  # fmt: skip

        def settled(limit_kw: float) -> bool:
            sessions = list(manager.sessions.values())
            return (
                len(sessions) == 3
                and all(s.confirmed_kw is not None and s.reported_kw is not None for s in sessions)
                and all(abs(s.reported_kw - s.confirmed_kw) <= EPS_KW for s in sessions)  # type: ignore[operator]
                and all(p.tx_kw is not None for p in peers)
                and sum(p.tx_kw for p in peers) <= limit_kw + EPS_KW  # type: ignore[misc]
                and sum(p.tx_kw for p in peers) >= limit_kw - 1.0  # type: ignore[misc]
            )

        await until(lambda: settled(LIMIT_KW), "the three sessions share the limit, read back")
        await appliance.site.set_limit(LOWERED_KW)
        await until(lambda: settled(LOWERED_KW), "the three sessions share the lowered limit, read back")

        print(  # what the run did (pytest -s)
            "\nmixed fleet:", {p.version: p.actions().count("SetChargingProfile") for p in peers},
            "profiles;", len(grid.after_raises), "raises; worst sum after a raise",
            "{:.2f}/{:.0f} kW".format(*max(grid.after_raises, key=lambda raised: raised[0] - raised[1])),
        )  # fmt: skip
        # The limit held after every raise a charger applied.
        assert grid.after_raises, "some charger was raised"
        for in_force, limit in grid.after_raises:
            assert in_force <= limit + EPS_KW, grid.after_raises

        # Each charger got its commands in its own version (its library validated them before its handler).
        for peer in peers:
            actions = peer.actions()
            question = "GetConfiguration" if peer.version == "1.6" else "GetVariables"
            assert actions[0] == question, (peer.version, actions)
            last_set = max(i for i, action in enumerate(actions) if action == "SetChargingProfile")
            assert "GetCompositeSchedule" in actions[last_set:], (peer.version, actions)
        profiles = {
            peer.version: [request for action, request in peer.got if action == "SetChargingProfile"]
            for peer in peers
        }
        tx16 = [p for p in profiles["1.6"] if p["charging_profile_purpose"] == "TxProfile"]
        assert tx16
        assert all(p["transaction_id"] == p16.transaction_id and p["connector_id"] == 1 for p in tx16)
        for version, text_id in (("2.0.1", "TX-201-A"), ("2.1", "TX-21-A")):
            tx = [p for p in profiles[version] if p["charging_profile_purpose"] == "TxProfile"]
            assert tx, version
            assert all(p["transaction_id"] == text_id and p["evse_id"] == 1 for p in tx), version
            default = [p for p in profiles[version] if p["charging_profile_purpose"] == "TxDefaultProfile"]
            assert default, version
            assert all(p["evse_id"] == 0 for p in default), version
        # Each in the unit its device model named (2.0.1: "A"; 2.1: "A,W", watts preferred).
        for version, unit in (("2.0.1", "A"), ("2.1", "W")):
            assert {p["charging_schedule"][0]["charging_rate_unit"] for p in profiles[version]} == {unit}

        # The sessions end; each profile is cleared in its charger's version.
        await p16.call(
            call16.StopTransaction(meter_stop=1500, timestamp=NOW, transaction_id=p16.transaction_id)
        )
        for peer, text_id, calls in ((p201, "TX-201-A", call201), (p21, "TX-21-A", call21)):
            ended = calls.TransactionEvent(
                event_type="Ended", trigger_reason="EVDeparted", seq_no=1, timestamp=NOW,
                transaction_info={"transactionId": text_id}, evse={"id": 1, "connectorId": 1},
            )  # fmt: skip
            await peer.call(ended)
            await peer.call(ended)  # a replay (its answer lost): stored once
        await until(
            lambda: all("ClearChargingProfile" in p.actions() for p in peers), "every profile cleared"
        )
        clears = {peer.version: [r for a, r in peer.got if a == "ClearChargingProfile"] for peer in peers}
        assert clears["1.6"][-1]["connector_id"] == 1
        for version in ("2.0.1", "2.1"):
            criteria = clears[version][-1]["charging_profile_criteria"]
            assert criteria == {"evse_id": 1, "charging_profile_purpose": "TxProfile", "stack_level": 5}

    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        stored = sorted(
            db.execute(
                "SELECT charger_id, charger_tx_id, stopped_at IS NOT NULL FROM transactions "
                "WHERE charger_id LIKE 'MIX-%'"
            )
        )
    assert stored == [("MIX-16", None, 1), ("MIX-201", "TX-201-A", 1), ("MIX-21", "TX-21-A", 1)]
