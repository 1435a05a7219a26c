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

from collections.abc import AsyncIterator
from contextlib import closing

import pytest
from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201
from voltyard.runtime import Appliance

from tests.e2e.power_peers import (
    CONNECTOR_MAX_KW,
    EPS_KW,
    NOW,
    Grid,
    Peer16,
    Peer21,
    Peer201,
    connected,
    until,
)

LIMIT_KW = 30.0
LOWERED_KW = 12.0


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
    url = f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp"
    id_token = {"idToken": "TAG-2X", "type": "ISO14443"}
    async with (
        connected(url, "MIX-16", Peer16, grid) as p16,
        connected(url, "MIX-201", Peer201, grid) as p201,
        connected(url, "MIX-21", Peer21, grid) as p21,
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


async def test_a_2x_session_taken_over_after_a_restart_keeps_its_chargers_transaction_id(
    appliance_config,
) -> None:
    """The manager takes over the sessions open at start; a 2.x one's TxProfile must still name the charger's
    text transactionId, which comes back from the store (Transactions.charger_tx_ids)."""
    power = {"enabled": True, "rebalance_period_s": 0.5, "start_delay_s": 0.1, "ramp_down_s": 0.2}
    config = appliance_config(ocpp={"unknown_id_tag": "accept"}, power=power)
    first = Appliance(config)
    await first.start()
    try:
        await first.site.set_limit(LIMIT_KW)
        grid = Grid(lambda: first.site.limit_kw)
        async with connected(f"ws://127.0.0.1:{first.ocpp_port}/ocpp", "RE-201", Peer201, grid) as peer:
            station = {"model": "M2", "vendorName": "V"}
            await peer.call(call201.BootNotification(charging_station=station, reason="PowerUp"))
            peer.charging, peer.transaction_id = True, "TX-KEPT"
            await peer.call(
                call201.TransactionEvent(
                    event_type="Started", trigger_reason="Authorized", seq_no=0, timestamp=NOW,
                    transaction_info={"transactionId": "TX-KEPT"}, evse={"id": 1, "connectorId": 1},
                )
            )  # fmt: skip
            await until(lambda: peer.tx_kw is not None, "the first appliance's TxProfile")
    finally:
        await first.stop()

    second = Appliance(config)
    await second.start()
    try:
        assert second.services.transactions.charger_tx_ids == {1: "TX-KEPT"}
        grid = Grid(lambda: second.site.limit_kw)
        async with connected(f"ws://127.0.0.1:{second.ocpp_port}/ocpp", "RE-201", Peer201, grid) as peer:
            peer.charging, peer.transaction_id = True, "TX-KEPT"
            # Back without a reboot (a dropped connection): it talks, so calls may go to it.
            await peer.call(call201.Heartbeat())
            await until(lambda: peer.tx_kw is not None, "the TxProfile after the restart")
        profiles = [request for action, request in peer.got if action == "SetChargingProfile"]
        tx = [profile for profile in profiles if profile["charging_profile_purpose"] == "TxProfile"]
        assert tx
        for profile in tx:
            assert profile["evse_id"] == 1
            assert profile["transaction_id"] == "TX-KEPT"
    finally:
        await second.stop()
