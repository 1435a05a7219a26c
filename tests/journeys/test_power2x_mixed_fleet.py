"""A site with a 1.6, a 2.0.1 and a 2.1 charger under one limit, on the installed `voltyard serve` (issue 20).

The operator turns the power manager on in voltyard.toml and sets the site limit through the API; three
chargers (the `ocpp` library's charge points of each version, over real sockets) each charge a session. Each
gets its start limit, its TxProfile and the GetCompositeSchedule read-back in its own version; the API's
power events show the plan with every session's limit read back; the limits hold the site limit, and then
the lowered one; every session is in the transaction list once.

(The chargers here are the `ocpp` library's, an independent implementation; the simulator's mixed fleet,
`voltyard sim run --protocol`, has its own journey in tests/journeys/test_sim2x_fleets.py.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201

from tests.e2e.power_peers import EPS_KW, NOW, WAIT_S, Grid, Peer16, Peer21, Peer201, connected, until
from tests.journeys.appliance import RunningAppliance

CONFIG = """
[ocpp]
unknown_id_tag = "accept"

[power]
enabled = true
rebalance_period_s = 0.5
start_delay_s = 0.1
ramp_down_s = 0.2
start_limit_kw = 0.0
"""
LIMIT_KW = 20.0
LOWERED_KW = 9.0


def flags(appliance: RunningAppliance) -> list[str]:
    return ["--host", "127.0.0.1", "--port", "0", "--api-port", "0", "--data-dir", str(appliance.data_dir)]


async def api(appliance: RunningAppliance, method: str, path: str, body: Any = None) -> Any:
    answer = await asyncio.to_thread(appliance.api, method, path, body)
    assert answer.status == 200, (method, path, answer)
    return answer.json


async def latest_plan(appliance: RunningAppliance) -> dict[str, Any] | None:
    events = await api(appliance, "GET", "/events?category=power&latest=200")
    plans = [event for event in events["items"] if event["kind"] == "SitePlan"]
    return plans[-1]["data"] if plans else None


async def _a_day(appliance: RunningAppliance) -> dict[str, Any]:
    await api(appliance, "PUT", "/site", {"limit_kw": LIMIT_KW, "operator": "journey"})
    limit = [LIMIT_KW]
    grid = Grid(lambda: limit[0])
    url = appliance.ocpp_url
    token = {"idToken": "TAG-J", "type": "ISO14443"}
    station = {"model": "J2", "vendorName": "Journey"}
    seen: dict[str, Any] = {}
    async with (
        connected(url, "J-16", Peer16, grid) as p16,
        connected(url, "J-201", Peer201, grid) as p201,
        connected(url, "J-21", Peer21, grid) as p21,
    ):
        peers = (p16, p201, p21)
        await p16.call(call16.BootNotification(charge_point_model="J16", charge_point_vendor="Journey"))
        await p201.call(call201.BootNotification(charging_station=station, reason="PowerUp"))
        await p21.call(call21.BootNotification(charging_station=station, reason="PowerUp"))
        await until(lambda: all(p.default_kw is not None for p in peers), "every start limit")
        for peer in peers:
            peer.charging = True
        started = await p16.call(
            call16.StartTransaction(connector_id=1, id_tag="TAG-J", meter_start=0, timestamp=NOW)
        )
        p16.transaction_id, p201.transaction_id, p21.transaction_id = (
            started.transaction_id,
            "J-201-1",
            "J-21-1",
        )
        for peer, calls in ((p201, call201), (p21, call21)):
            await peer.call(
                calls.TransactionEvent(
                    event_type="Started", trigger_reason="Authorized", seq_no=0, timestamp=NOW,
                    transaction_info={"transactionId": peer.transaction_id}, id_token=token,
                    evse={"id": 1, "connectorId": 1},
                )
            )  # fmt: skip

        def shared(limit_kw: float) -> bool:
            held = [p.tx_kw for p in peers]
            read_back = all(
                "GetCompositeSchedule"
                in p.actions()[max(i for i, a in enumerate(p.actions()) if a == "SetChargingProfile") :]
                for p in peers
            )
            return None not in held and limit_kw - 1.0 <= sum(held) <= limit_kw + EPS_KW and read_back  # type: ignore[arg-type]

        await until(lambda: shared(LIMIT_KW), "the sessions share the site limit")
        # The plan is published once the rebalance's read-backs are in: poll the event log for it.
        async with asyncio.timeout(WAIT_S):
            while True:
                plan = await latest_plan(appliance)
                done = plan is not None and len(plan["sessions"]) == len(peers)
                if done and all(s["reported_kw"] is not None for s in plan["sessions"]):  # type: ignore[index]
                    break
                await asyncio.sleep(0.1)
        seen["plan"] = plan
        await api(appliance, "PUT", "/site", {"limit_kw": LOWERED_KW, "operator": "journey"})
        limit[0] = LOWERED_KW
        await until(lambda: shared(LOWERED_KW), "the sessions share the lowered limit")
        seen["lowered"] = [p.tx_kw for p in peers]
        seen["raises"] = list(grid.after_raises)
        seen["got"] = {p.version: p.got for p in peers}
        await p16.call(
            call16.StopTransaction(meter_stop=900, timestamp=NOW, transaction_id=p16.transaction_id)
        )
        for peer, calls in ((p201, call201), (p21, call21)):
            await peer.call(
                calls.TransactionEvent(
                    event_type="Ended", trigger_reason="EVDeparted", seq_no=1, timestamp=NOW,
                    transaction_info={"transactionId": peer.transaction_id}, evse={"id": 1, "connectorId": 1},
                )
            )  # fmt: skip
        seen["transactions"] = await api(appliance, "GET", "/transactions?limit=50")
    return seen


def test_a_mixed_fleet_under_one_site_limit(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=CONFIG, flags=flags(appliance))
    try:
        seen = asyncio.run(asyncio.wait_for(_a_day(appliance), 3 * WAIT_S))
    finally:
        code = appliance.stop()
    assert code == 0
    for in_force, limit in seen["raises"]:
        assert in_force <= limit + EPS_KW
    assert sum(seen["lowered"]) <= LOWERED_KW + EPS_KW
    # The plan the API shows: the three sessions, each limit read back from its charger.
    plan = seen["plan"]
    assert plan is not None
    sessions = {s["chargerId"]: s for s in plan["sessions"]}
    assert set(sessions) == {"J-16", "J-201", "J-21"}
    for session in sessions.values():
        assert session["limit_kw"] is not None
        assert abs(session["reported_kw"] - session["limit_kw"]) <= EPS_KW
    assert sum(s["limit_kw"] for s in sessions.values()) <= LIMIT_KW + EPS_KW
    # Each charger got its profiles in its own version (2.x: the EVSE and its own transaction id).
    got = seen["got"]
    tx = {
        version: [
            r
            for a, r in got[version]
            if a == "SetChargingProfile" and r["charging_profile_purpose"] == "TxProfile"
        ]
        for version in got
    }
    assert {r["connector_id"] for r in tx["1.6"]} == {1}
    assert {(r["evse_id"], r["transaction_id"]) for r in tx["2.0.1"]} == {(1, "J-201-1")}
    assert {(r["evse_id"], r["transaction_id"]) for r in tx["2.1"]} == {(1, "J-21-1")}
    # One transaction list, each session once.
    listed = sorted(
        (t["charger_id"], t["charger_transaction_id"])
        for t in seen["transactions"]["items"]
        if t["charger_id"].startswith("J-")
    )
    assert listed == [("J-16", None), ("J-201", "J-201-1"), ("J-21", "J-21-1")]
