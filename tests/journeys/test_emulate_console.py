"""`voltyard emulate`'s console against a real `voltyard serve` (the installed entry point, a subprocess).

The simulator and the Textual app run in the test's loop, as `voltyard emulate` runs them in its own
process; the app drives the chargers only through the control socket. What the appliance saw is read
from its control API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static, TextArea
from voltyard.sim.fleet import FleetShape
from voltyard.sim.link import ConnectOptions
from voltyard.sim.simulation import SimConfig, Simulation
from voltyard_tui.emulate import EmulatorApp
from voltyard_tui.emulate.app import CrafterScreen
from voltyard_tui.emulate.faults import FAULT_CODES, FaultScreen
from voltyard_tui.emulate.frames import FilterScreen
from voltyard_tui.widgets.message_table import MessageRow, MessageTable

from tests.journeys.appliance import RunningAppliance, voltyard

HANG_GUARD_S = 20.0


@pytest.fixture
async def simulation(appliance: RunningAppliance, tmp_path: Path) -> AsyncIterator[Simulation]:
    answer = await asyncio.to_thread(
        appliance.api, "PUT", "/id-tags/EMU-TAG-1", {"status": "Accepted", "operator": "emu"}
    )
    assert answer.status in (200, 201), answer
    simulation = Simulation(
        SimConfig(
            options=ConnectOptions(appliance.ocpp_url, backoff_base=0.2),
            shape=FleetShape(1, 2, "EMU"),
            scenario="idle",
            duration=600.0,
            control_socket=tmp_path / "emu" / "control.sock",
            keep_frames=True,
        )
    )
    await simulation.start()
    assert await simulation.wait_booted()
    simulation.begin()
    yield simulation
    await simulation.give_up()


async def until(pilot: Pilot[None], check: Callable[[], Any], what: str) -> None:
    """Let the app run until `check()` holds (a hang guard bounds it; nothing is timed)."""
    try:
        async with asyncio.timeout(HANG_GUARD_S):
            while not check():
                await pilot.pause(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def connector(app: EmulatorApp, number: int) -> dict[str, Any]:
    result: dict[str, Any] = app.chargers[0]["connectors"][number - 1]
    return result


async def transactions(appliance: RunningAppliance) -> list[dict[str, Any]]:
    answer = await asyncio.to_thread(appliance.api, "GET", "/transactions?charger_id=EMU00000")
    items: list[dict[str, Any]] = answer.json["items"]
    return items


async def test_present_a_tag_start_a_session_and_stop_it(
    appliance: RunningAppliance, simulation: Simulation
) -> None:
    assert simulation.config.control_socket is not None
    app = EmulatorApp(simulation.config.control_socket)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.chargers, "the table")
        await pilot.press("t")
        await pilot.press("enter")  # the default tag, EMU-TAG-1
        await until(pilot, lambda: connector(app, 1)["status"] == "Charging", "Charging")
        await until(pilot, lambda: (connector(app, 1)["session"] or {}).get("transaction_id"), "a tx id")
        (listed,) = await transactions(appliance)
        assert (listed["id_tag"], listed["active"]) == ("EMU-TAG-1", True)
        await pilot.press("s")
        await until(pilot, lambda: connector(app, 1)["status"] == "Finishing", "Finishing")
        for _ in range(int(HANG_GUARD_S / 0.2)):
            (listed,) = await transactions(appliance)
            if not listed["active"]:
                break
            await pilot.pause(0.2)
        assert listed["active"] is False
        await pilot.press("u")
        await until(pilot, lambda: connector(app, 1)["status"] == "Available", "Available")
        assert any(row.action == "StartTransaction" for row in app.query_one("#frames").shown)  # type: ignore[attr-defined]


async def test_go_offline_and_come_back_replays_the_queue(
    appliance: RunningAppliance, simulation: Simulation
) -> None:
    assert simulation.config.control_socket is not None
    app = EmulatorApp(simulation.config.control_socket)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.chargers, "the table")
        await pilot.press("down")  # connector 2
        await pilot.press("t")
        await pilot.press("enter")
        await until(pilot, lambda: (connector(app, 2)["session"] or {}).get("transaction_id"), "a tx id")
        await pilot.press("o")
        await until(pilot, lambda: not app.chargers[0]["online"], "offline")
        await pilot.press("s")
        await until(pilot, lambda: app.chargers[0]["queued"] >= 1, "the StopTransaction queued")
        (listed,) = await transactions(appliance)
        assert listed["active"] is True, "the stop waits for the link"
        await pilot.press("o")
        await until(pilot, lambda: app.chargers[0]["online"] and app.chargers[0]["queued"] == 0, "replayed")
        for _ in range(int(HANG_GUARD_S / 0.2)):
            (listed,) = await transactions(appliance)
            if not listed["active"]:
                break
            await pilot.pause(0.2)
        assert listed["active"] is False
        assert simulation.ctx is not None
        assert simulation.ctx.stats.counters.replayed_answered >= 1


async def test_crafter_shows_the_callerror_of_a_malformed_frame(simulation: Simulation) -> None:
    assert simulation.config.control_socket is not None
    app = EmulatorApp(simulation.config.control_socket)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.chargers, "the table")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CrafterScreen), "the crafter")
        crafter = app.screen
        assert isinstance(crafter, CrafterScreen)
        crafter.query_one("#crafter-payload", TextArea).text = '[2,"bad-1","Heartbeat",{"x":1}]'
        await pilot.press("ctrl+s")
        await until(pilot, lambda: crafter.last is not None, "the answer")
        assert crafter.last is not None
        assert crafter.last["kind"] == "CALLERROR"
        shown = str(crafter.query_one("#crafter-result", Static).render())
        assert "CALLERROR in" in shown
        assert '"bad-1"' in shown
        await pilot.click("#crafter-action")
        await pilot.press(*"Heartbeat")
        crafter.query_one("#crafter-payload", TextArea).text = "{}"
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: crafter.last is not None and crafter.last["kind"] == "CALLRESULT", "result"
        )


def test_emulate_refuses_a_bad_url_and_an_unreachable_csms_in_one_line() -> None:
    bad = voltyard("emulate", "--url", "http://127.0.0.1:9/ocpp")
    assert (bad.returncode, bad.stderr) == (
        2,
        "voltyard emulate: --url 'http://127.0.0.1:9/ocpp': must start with ws:// or wss://\n",
    )
    down = voltyard("emulate", "--url", "ws://127.0.0.1:9/ocpp", "--connect-timeout", "20")
    assert down.returncode == 1
    assert (
        down.stderr
        == "voltyard emulate: cannot connect to ws://127.0.0.1:9/ocpp/EMU00000: connection refused\n"
    )
    assert "Traceback" not in down.stderr


def frames_shown(app: EmulatorApp) -> list[MessageRow]:
    return list(app.query_one("#frames", MessageTable).shown)


async def test_frame_filters_by_action_and_search_by_id_tag_then_clear(simulation: Simulation) -> None:
    """`/` sets the filters: an action shows only its frames (the call and its answer), a search finds
    the frame carrying an idTag, the type narrows further, `x` shows everything again."""
    assert simulation.config.control_socket is not None
    app = EmulatorApp(simulation.config.control_socket)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.chargers, "the table")
        await pilot.press("t")
        await pilot.press("enter")  # the default tag, EMU-TAG-1: Authorize, then StartTransaction
        await until(pilot, lambda: (connector(app, 1)["session"] or {}).get("transaction_id"), "a tx id")
        await until(
            pilot,
            lambda: any(r.action == "StartTransaction" and r.direction == "in" for r in frames_shown(app)),
            "the StartTransaction answer in the pane",
        )
        everything = len(frames_shown(app))
        assert {row.action for row in frames_shown(app)} > {"StartTransaction"}

        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen), "the filter box")
        app.screen.query_one("#filter-search", Input).value = ""
        app.screen.query_one("#filter-action", Input).value = "StartTransaction"
        app.screen.query_one("#filter-action", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, FilterScreen), "the filter applied")
        shown = frames_shown(app)
        # The call and its answer; on a loaded machine the charger may have sent its call again before the
        # answer came (a transaction message is retried), so the call can be there twice.
        assert (shown[0].direction, shown[0].message_type) == ("out", "CALL")
        assert {(row.direction, row.message_type) for row in shown} == {("out", "CALL"), ("in", "RESULT")}
        assert {row.action for row in shown} == {"StartTransaction"}
        assert "action ~StartTransaction" in str(app.query_one("#frames", MessageTable).border_title)

        await pilot.press("x")
        assert len(frames_shown(app)) >= everything

        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen), "the filter box")
        await pilot.press(*"emu-tag-1")  # the search box has the focus; case does not matter
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, FilterScreen), "the search applied")
        found = frames_shown(app)
        assert {row.action for row in found} >= {"Authorize", "StartTransaction"}
        assert all("EMU-TAG-1" in row.frame for row in found)
        assert all(row.direction == "out" for row in found), "only the charger's calls carry the tag"

        # The filter holds for what comes next: stopping the session sends the tag again.
        await pilot.press("s")
        await until(
            pilot, lambda: any(row.action == "StopTransaction" for row in frames_shown(app)), "the stop"
        )
        assert all("EMU-TAG-1" in row.frame for row in frames_shown(app))

        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen), "the filter box")
        await pilot.press("ctrl+r")  # clear all, from the box
        await until(pilot, lambda: not app.frame_filter, "the filter cleared")
        assert len(frames_shown(app)) > len(found)
        assert len(frames_shown(app)) == len(app.frame_rows)


async def test_fault_key_injects_the_chosen_error_code(
    appliance: RunningAppliance, simulation: Simulation
) -> None:
    """`f` asks which code (OtherError highlighted); the chosen one reaches the appliance's connector."""
    assert simulation.config.control_socket is not None
    app = EmulatorApp(simulation.config.control_socket)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.chargers, "the table")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FaultScreen), "the fault picker")
        codes = app.screen.query_one("#fault-code", OptionList)
        assert codes.highlighted is not None
        assert FAULT_CODES[codes.highlighted] == "OtherError"
        for _ in range(FAULT_CODES.index("GroundFailure"), FAULT_CODES.index("OtherError")):
            await pilot.press("up")
        await pilot.press("enter")
        await until(pilot, lambda: connector(app, 1)["status"] == "Faulted", "Faulted")
        assert connector(app, 1)["error_code"] == "GroundFailure"
        for _ in range(int(HANG_GUARD_S / 0.2)):
            answer = await asyncio.to_thread(appliance.api, "GET", "/chargers/EMU00000")
            (first,) = [c for c in answer.json["connectors"] if c["connector_id"] == 1]
            if first["status"] == "Faulted":
                break
            await pilot.pause(0.2)
        assert (first["connector_id"], first["status"], first["error_code"]) == (
            1,
            "Faulted",
            "GroundFailure",
        )
        await pilot.press("f")  # a Faulted connector: f clears it, no question
        await until(pilot, lambda: connector(app, 1)["error_code"] == "NoError", "the fault cleared")
        assert connector(app, 1)["status"] != "Faulted"
