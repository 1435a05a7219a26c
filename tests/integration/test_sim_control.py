"""A running simulator: `voltyard sim inject-fault` through the control socket, and CSMS commands answered."""

from __future__ import annotations

import asyncio
import io
from contextlib import closing
from pathlib import Path

import pytest
from voltyard.runtime import Appliance
from voltyard.sim import commands
from voltyard.sim.fleet import FleetShape
from voltyard.sim.link import ConnectOptions
from voltyard.sim.simulation import SimConfig, Simulation
from voltyard.store.meter_log import meter_readings


@pytest.fixture
async def appliance(appliance_config):
    running = Appliance(appliance_config(ocpp={"unknown_id_tag": "accept"}))
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def simulation(appliance, tmp_path: Path):
    simulation = Simulation(
        SimConfig(
            options=ConnectOptions(f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp", backoff_base=0.2),
            shape=FleetShape(3, 2),
            scenario="idle",
            duration=60.0,
            sample_interval=1,
            control_socket=tmp_path / "run" / "control.sock",
        )
    )
    await simulation.start()
    assert await simulation.wait_booted()
    simulation.begin()
    yield simulation
    await simulation.finish()


async def status_seen(appliance, charger_id: str, connector: int, status: str) -> None:
    """Wait for the server to record `status` (driven by the server's own event bus, no polling)."""
    seen = asyncio.get_running_loop().create_future()
    record = appliance.services.chargers.get(charger_id)

    def check(*_: object) -> None:
        state = record.connectors.get(connector)
        if state is not None and state.status == status and not seen.done():
            seen.set_result(None)

    unsubscribe = appliance.services.events.subscribe(check)
    try:
        check()
        await asyncio.wait_for(seen, 5)
    finally:
        unsubscribe()


async def sim_change(simulation, done) -> None:
    """Wait until `done()` holds, re-checked whenever a simulated charger reports a change."""
    changed = asyncio.get_running_loop().create_future()

    def check(charger: object) -> None:
        if done() and not changed.done():
            changed.set_result(None)

    simulation.ctx.on_change = check
    if not done():
        await asyncio.wait_for(changed, 5)


async def test_inject_fault_through_the_control_socket(appliance, simulation) -> None:
    out, err = io.StringIO(), io.StringIO()
    socket_path = simulation.config.control_socket
    code = await asyncio.to_thread(
        commands.inject_fault, socket_path, "SIM00001", 2, "GroundFailure", out=out, err=err
    )
    assert code == 0, err.getvalue()
    assert out.getvalue().strip() == "SIM00001 connector 2: Faulted"
    await status_seen(appliance, "SIM00001", 2, "Faulted")
    with closing(appliance.read_connection()) as conn:
        await appliance.store.durable(lambda c: None)
        (error_code,) = conn.execute(
            "SELECT error_code FROM connectors WHERE charger_id = 'SIM00001' AND connector_id = 2"
        ).fetchone()
    assert error_code == "GroundFailure"


async def test_inject_fault_refusals(simulation, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = simulation.config.control_socket
    assert (
        await asyncio.to_thread(commands.inject_fault, path, "NOPE", 1, "OtherError", out=out, err=err) == 1
    )
    assert "no charger 'NOPE'" in err.getvalue()
    missing = tmp_path / "absent.sock"
    assert (
        await asyncio.to_thread(commands.inject_fault, missing, "SIM00000", 1, "OtherError", out=out, err=err)
        == 2
    )


async def test_remote_start_profile_meter_and_remote_stop(appliance, simulation) -> None:
    call = appliance.commands.call
    assert await call("SIM00000", "RemoteStartTransaction", {"connectorId": 1, "idTag": "REMOTE1"}) == {
        "status": "Accepted"
    }
    connector = simulation.fleet.chargers[0].connectors[0]
    await sim_change(simulation, lambda: connector.session is not None and connector.session.transaction_id)
    limit = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}]}
    profile = {"chargingProfileId": 9, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute", "chargingSchedule": limit}  # fmt: skip
    answer = await call("SIM00000", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile})
    assert answer == {"status": "Accepted"}
    await sim_change(simulation, lambda: connector.limit_w is not None)
    assert connector.power_w == pytest.approx(6.0 * 230 * 3)
    triggered = await call(
        "SIM00000", "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}
    )
    assert triggered == {"status": "Accepted"}
    session = connector.session
    assert session is not None
    stop = await call("SIM00000", "RemoteStopTransaction", {"transactionId": session.transaction_id})
    assert stop == {"status": "Accepted"}
    await status_seen(appliance, "SIM00000", 1, "Finishing")
    await appliance.store.durable(lambda c: None)
    with closing(appliance.read_connection()) as conn:
        row = conn.execute("SELECT stop_reason, id_tag FROM transactions").fetchone()
        powers = [reading.power_w for reading in meter_readings(conn) if reading.power_w is not None]
    assert row == ("Remote", "REMOTE1")
    assert pytest.approx(6.0 * 230 * 3) in powers


async def test_configuration_availability_and_reservations(appliance, simulation) -> None:
    call = appliance.commands.call
    got = await call("SIM00002", "GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
    assert got["unknownKey"] == ["Nope"]
    assert await call(
        "SIM00002", "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "5"}
    ) == {"status": "Accepted"}
    assert await call("SIM00002", "ChangeConfiguration", {"key": "NumberOfConnectors", "value": "5"}) == {
        "status": "Rejected"
    }
    assert await call("SIM00002", "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == {
        "status": "Accepted"
    }
    await status_seen(appliance, "SIM00002", 2, "Unavailable")
    reserve = {"connectorId": 1, "expiryDate": "2099-01-01T00:00:00Z", "idTag": "R1", "reservationId": 5}
    assert await call("SIM00002", "ReserveNow", reserve) == {"status": "Accepted"}
    await status_seen(appliance, "SIM00002", 1, "Reserved")
    assert await call("SIM00002", "CancelReservation", {"reservationId": 5}) == {"status": "Accepted"}
    await status_seen(appliance, "SIM00002", 1, "Available")
    entries = [{"idTag": "L1", "idTagInfo": {"status": "Accepted"}}]
    local_list = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": entries}
    assert await call("SIM00002", "SendLocalList", local_list) == {"status": "Accepted"}
    assert await call("SIM00002", "GetLocalListVersion", {}) == {"listVersion": 3}
    assert await call("SIM00002", "DataTransfer", {"vendorId": "x"}) == {"status": "UnknownVendorId"}


async def test_reset_reboots_and_boots_again(appliance, simulation) -> None:
    charger = simulation.fleet.chargers[1]
    boots = simulation.ctx.stats.counters.boots
    assert await appliance.commands.call("SIM00001", "Reset", {"type": "Soft"}) == {"status": "Accepted"}
    booted = asyncio.get_running_loop().create_future()
    counting = simulation.ctx.on_booted

    def on_booted(which) -> None:
        counting(which)
        if which is charger and not booted.done():
            booted.set_result(None)

    simulation.ctx.on_booted = on_booted
    await asyncio.wait_for(booted, 10)
    assert simulation.ctx.stats.counters.boots == boots + 1
