"""The station manager: stations of a running fleet paused and resumed, stopped and started, without
restarting it, through the control socket (`voltyard sim station ...` sends these), against a real
appliance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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
            shape=FleetShape(2, 1),
            scenario="basic_charge",
            duration=8.0,  # each station's session starts 0.4-2 s in and lasts 2.4-4 s
            control_socket=tmp_path / "run" / "control.sock",
        )
    )
    await simulation.start()
    assert await simulation.wait_booted()
    yield simulation
    await simulation.finish()


def steps_done(simulation: Simulation, index: int) -> int:
    assert simulation.fleet is not None
    return sum(1 for record in simulation.fleet.ctx.action_log if record.charger == index)


async def test_a_paused_station_holds_its_plan_and_resumes_it_while_the_others_run(
    simulation: Simulation,
) -> None:
    paused = await control(simulation, {"command": "pause", "charger": "SIM00000"})
    assert paused == {"ok": True, "charger": "SIM00000", "paused": True}
    simulation.begin()
    # Seed 0: station 0's first step (its tag, 0.95 s in) is due before station 1's (1.78 s); station 1 runs
    # its whole plan (the tag, the unplug at 5.5 s) while station 0 holds.
    assert simulation.fleet is not None
    await until(lambda: steps_done(simulation, 1) == len(simulation.fleet.chargers[1].plan))
    assert steps_done(simulation, 0) == 0
    listed = await control(simulation, {"command": "chargers"})
    assert [(c["id"], c["paused"]) for c in listed["chargers"]] == [("SIM00000", True), ("SIM00001", False)]
    resumed = await control(simulation, {"command": "resume", "charger": "SIM00000"})
    assert resumed["paused"] is False
    await until(lambda: steps_done(simulation, 0) >= 1)


async def test_a_station_paused_across_a_pause_of_the_run_is_shifted_once(simulation: Simulation) -> None:
    """Station paused, then the whole run, the station resumed while the run holds, then the run: the
    station's next step moves by the time it stood still, not by that plus the overlap of the two pauses."""
    simulation.begin()
    assert simulation.fleet is not None
    station = simulation.fleet.chargers[0]
    loop = asyncio.get_running_loop()

    def next_due() -> float:
        return station.ctx.t0 + station.plan[station.plan_pos].at

    due = next_due()
    before_pause = loop.time()
    await control(simulation, {"command": "pause", "charger": "SIM00000"})
    after_pause = loop.time()
    await control(simulation, {"command": "pause"})
    await asyncio.sleep(0.5)
    await control(simulation, {"command": "resume", "charger": "SIM00000"})
    await asyncio.sleep(0.3)
    before_resume = loop.time()
    await control(simulation, {"command": "resume"})
    after_resume = loop.time()
    assert steps_done(simulation, 0) == 0
    shift = next_due() - due
    assert before_resume - after_pause <= shift <= after_resume - before_pause


async def test_a_stopped_station_stays_down_and_a_started_one_comes_back(simulation: Simulation) -> None:
    simulation.begin()
    stopped = await control(simulation, {"command": "offline", "charger": "SIM00001"})
    assert stopped["ok"]
    listed = await control(simulation, {"command": "chargers"})
    assert [c["online"] for c in listed["chargers"]] == [True, False]
    started = await control(simulation, {"command": "online", "charger": "SIM00001"})
    assert started["ok"]
    await until(lambda: simulation.fleet is not None and simulation.fleet.chargers[1].online)


async def test_a_station_that_is_not_in_the_run_is_named(simulation: Simulation) -> None:
    reply = await control(simulation, {"command": "pause", "charger": "NOPE"})
    assert reply == {"ok": False, "error": "pause: no charger 'NOPE' in this run"}
