"""The control socket's commands for `voltyard emulate`, against a real Simulation and a real appliance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from voltyard.runtime import Appliance
from voltyard.sim.fleet import FleetShape
from voltyard.sim.link import ConnectOptions
from voltyard.sim.simulation import SimConfig, Simulation

from tests.integration.sim_control import control, until


@pytest.fixture
async def appliance(appliance_config: Any) -> AsyncIterator[Appliance]:
    running = Appliance(appliance_config(ocpp={"unknown_id_tag": "accept"}))
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def simulation(appliance: Appliance, tmp_path: Path) -> AsyncIterator[Simulation]:
    simulation = Simulation(
        SimConfig(
            options=ConnectOptions(f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp", backoff_base=0.2),
            shape=FleetShape(2, 2),
            scenario="idle",
            duration=600.0,
            control_socket=tmp_path / "run" / "control.sock",
            keep_frames=True,
        )
    )
    await simulation.start()
    assert await simulation.wait_booted()
    simulation.begin()
    yield simulation
    await simulation.finish()


def connector_of(reply: dict[str, Any], charger: str, number: int) -> dict[str, Any]:
    (found,) = [c for c in reply["chargers"] if c["id"] == charger]
    result: dict[str, Any] = found["connectors"][number - 1]
    return result


def transactions(appliance: Appliance) -> list[tuple[Any, ...]]:
    with closing(appliance.read_connection()) as conn:
        return list(conn.execute("SELECT id_tag, stop_reason FROM transactions ORDER BY id"))


async def test_chargers_lists_ids_versions_and_connectors(simulation: Simulation) -> None:
    reply = await control(simulation, {"command": "chargers"})
    assert reply["ok"]
    assert [c["id"] for c in reply["chargers"]] == ["SIM00000", "SIM00001"]
    first = reply["chargers"][0]
    assert first["version"] == "1.6"
    assert first["online"] is True
    assert [c["status"] for c in first["connectors"]] == ["Available", "Available"]
    assert first["connectors"][0]["session"] is None


async def test_plug_present_tag_stop_and_unplug(appliance: Appliance, simulation: Simulation) -> None:
    assert (await control(simulation, {"command": "plug", "charger": "SIM00000", "connector": 1}))[
        "status"
    ] == "Preparing"
    reply = await control(
        simulation, {"command": "present-tag", "charger": "SIM00000", "connector": 1, "id_tag": "EMU1"}
    )
    assert reply["ok"], reply
    connector = simulation.fleet.chargers[0].connectors[0]  # type: ignore[union-attr]
    await until(lambda: connector.session is not None and connector.session.transaction_id is not None)
    listed = connector_of(await control(simulation, {"command": "chargers"}), "SIM00000", 1)
    assert listed["status"] == "Charging"
    assert listed["session"]["id_tag"] == "EMU1"
    await appliance.store.durable(lambda c: None)
    assert transactions(appliance) == [("EMU1", None)]
    stopped = await control(simulation, {"command": "stop", "charger": "SIM00000", "connector": 1})
    assert stopped["status"] == "Finishing"
    await until(lambda: bool(transactions(appliance)) and transactions(appliance)[0][1] == "Local")
    assert (await control(simulation, {"command": "unplug", "charger": "SIM00000", "connector": 1}))[
        "status"
    ] == "Available"


async def test_offline_queues_and_online_replays(appliance: Appliance, simulation: Simulation) -> None:
    await control(
        simulation, {"command": "present-tag", "charger": "SIM00001", "connector": 2, "id_tag": "OFF1"}
    )
    charger = simulation.fleet.chargers[1]  # type: ignore[union-attr]
    connector = charger.connectors[1]
    await until(lambda: connector.session is not None and connector.session.transaction_id is not None)
    reply = await control(simulation, {"command": "offline", "charger": "SIM00001"})
    assert reply == {"ok": True, "charger": "SIM00001", "online": False, "offline": True}
    await control(simulation, {"command": "stop", "charger": "SIM00001", "connector": 2})
    listed = await control(simulation, {"command": "chargers"})
    (entry,) = [c for c in listed["chargers"] if c["id"] == "SIM00001"]
    assert entry["online"] is False
    assert entry["queued"] >= 1  # the StopTransaction waits for the link
    await appliance.store.durable(lambda c: None)
    assert transactions(appliance) == [("OFF1", None)]
    assert (await control(simulation, {"command": "online", "charger": "SIM00001"}))["ok"]
    await until(lambda: charger.online and not charger.queue)
    await until(lambda: transactions(appliance) == [("OFF1", "Local")])
    assert simulation.ctx.stats.counters.replayed_answered >= 1  # type: ignore[union-attr]


async def test_send_a_call_and_a_malformed_frame(simulation: Simulation) -> None:
    reply = await control(
        simulation, {"command": "send", "charger": "SIM00000", "action": "Heartbeat", "payload": {}}
    )
    assert reply["ok"], reply
    assert reply["kind"] == "CALLRESULT"
    assert '"currentTime"' in reply["answer"]
    assert reply["rtt_ms"] > 0
    bad = await control(
        simulation, {"command": "send", "charger": "SIM00000", "frame": '[2,"bad-1","Heartbeat",{"x":1}]'}
    )
    assert bad["kind"] == "CALLERROR", bad
    assert '"bad-1"' in bad["answer"]
    frames = await control(simulation, {"command": "frames", "charger": "SIM00000", "since": 0})
    assert frames["ok"]
    texts = [entry["frame"] for entry in frames["frames"]]
    assert '[2,"bad-1","Heartbeat",{"x":1}]' in texts
    assert all(entry["charger"] == "SIM00000" for entry in frames["frames"])
    newer = await control(simulation, {"command": "frames", "charger": "SIM00000", "since": frames["last"]})
    assert newer["frames"] == [] or all(entry["seq"] > frames["last"] for entry in newer["frames"])


async def test_pause_and_resume(simulation: Simulation) -> None:
    assert await control(simulation, {"command": "pause"}) == {"ok": True, "paused": True}
    assert (await control(simulation, {"command": "status"}))["paused"] is True
    assert await control(simulation, {"command": "resume"}) == {"ok": True, "paused": False}


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ({"command": "fly"}, "unknown command 'fly'"),
        ({"command": "plug", "charger": "NOPE"}, "plug: no charger 'NOPE'"),
        ({"command": "plug", "charger": "SIM00000", "connector": 3}, "has no connector 3"),
        ({"command": "unplug", "charger": "SIM00000", "connector": "1"}, "has no connector '1'"),
        ({"command": "stop", "charger": "SIM00000", "connector": 1}, "no session is running"),
        ({"command": "present-tag", "charger": "SIM00000", "connector": 1}, "id_tag must be a text"),
        ({"command": "present-tag", "charger": "SIM00000", "id_tag": "X" * 21}, "1 to 20 characters"),
        ({"command": "send", "charger": "SIM00000"}, "give frame (the raw text) or action"),
        ({"command": "send", "charger": "SIM00000", "action": "Heartbeat", "payload": []}, "JSON object"),
        ({"command": "frames", "charger": "SIM00000", "since": -1}, "since must be a sequence number"),
    ],
)
async def test_refusals_name_what_was_wrong(
    simulation: Simulation, command: dict[str, Any], error: str
) -> None:
    reply = await control(simulation, command)
    assert reply["ok"] is False
    assert error in reply["error"]


async def test_template_lists_actions_and_fills_a_payload(simulation: Simulation) -> None:
    reply = await control(simulation, {"command": "template", "charger": "SIM00000", "action": "Authorize"})
    assert reply["version"] == "1.6"
    assert "StatusNotification" in reply["actions"]
    assert set(reply["payload"]) == {"idTag"}
    refused = await control(simulation, {"command": "template", "charger": "SIM00000", "action": "Fly"})
    assert refused == {"ok": False, "error": "template: OCPP 1.6 has no action 'Fly'"}
