"""The console against a real appliance fed by simulated chargers (issue 8, "Done when" 2).

In-process: `voltyard.runtime.Appliance` on loopback with a fresh data dir, the control API app from
`voltyard.api` on a free port, and a fleet of `voltyard.sim` chargers dialling in. Skipped while
`voltyard.api` is not importable (it lands on main separately from the console).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import build_app, frame_seen, loaded, until, workers_done
from textual.widgets import Input, Static, TextArea

from voltyard_tui.app import VoltyardApp
from voltyard_tui.screens.charger_detail import ChargerDetailScreen
from voltyard_tui.screens.command_modal import CommandModal
from voltyard_tui.screens.crafter import CrafterScreen
from voltyard_tui.screens.inspector import InspectorScreen
from voltyard_tui.widgets.charger_table import ChargerTable
from voltyard_tui.widgets.message_table import MessageTable

CHARGERS = 3
CONNECTORS = 2


@dataclass
class LiveSite:
    url: str
    token: str
    appliance: Any
    simulation: Any


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveSite]:
    from aiohttp import web
    from voltyard.api.app import create_app
    from voltyard.api.tokens import ensure_tokens
    from voltyard.config import load_config
    from voltyard.runtime import Appliance
    from voltyard.sim.fleet import FleetShape
    from voltyard.sim.link import ConnectOptions
    from voltyard.sim.simulation import SimConfig, Simulation

    data_dir = tmp_path / "data"
    config = load_config(
        None,
        {
            "server": {"data_dir": data_dir, "host": "127.0.0.1", "port": 0},
            # The simulated drivers' tags are in no tag table: accept them, so remote starts become sessions.
            "ocpp": {"unknown_id_tag": "accept", "heartbeat_interval": 5},
        },
    )
    appliance = Appliance(config)
    await appliance.start()
    tokens = ensure_tokens(data_dir)
    runner = web.AppRunner(create_app(appliance.api_services(), tokens))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    options = ConnectOptions(
        f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp", backoff_base=0.2, backoff_cap=1.0, call_timeout=10.0
    )
    simulation = Simulation(
        SimConfig(
            options=options,
            shape=FleetShape(CHARGERS, CONNECTORS),
            scenario="idle",
            seed=3,
            duration=300.0,
            connect_timeout=20.0,
        )
    )
    await simulation.start()
    assert await simulation.wait_booted()
    simulation.begin()
    try:
        yield LiveSite(f"http://127.0.0.1:{port}", tokens["operator"], appliance, simulation)
    finally:
        assert simulation.fleet is not None
        simulation.fleet.stop()
        await runner.cleanup()
        await appliance.stop()


def _is_status_call(event: Any) -> bool:
    return event.data.get("action") == "StatusNotification" and event.data.get("messageType") == 2


def live_app(live: LiveSite, tmp_path: Path) -> VoltyardApp:
    return build_app(live.url, tmp_path, live.token)


async def test_table_lists_the_fleet_and_a_remote_start_reaches_the_charger(live: LiveSite, tmp_path: Path):
    app = live_app(live, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await until(app, lambda: len(app.state.chargers) == CHARGERS)
        await pilot.press("c")
        await pilot.pause()
        table = app.screen.query_one(ChargerTable)
        ids = sorted(app.state.chargers)
        assert table.visible_ids() == ids
        target = ids[0]

        table.move_cursor(row=table.get_row_index(target))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChargerDetailScreen)
        await workers_done(app, ["detail"])
        await pilot.press("s")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, CommandModal)
        modal.query_one("#field-connectorId", Input).value = "1"
        modal.query_one("#field-idTag", Input).value = "LIVE-TAG-1"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await workers_done(app, ["send"])
        await pilot.pause()
        assert modal.error is None, str(modal.error)
        assert modal.answer == {"status": "Accepted"}
        assert "Accepted" in str(modal.query_one("#result", Static).render())

        # The simulated charger starts the session: its connector leaves Available, and the row follows.
        def started() -> bool:
            connectors = {c.connector_id: c.status for c in app.state.chargers[target].connectors}
            return connectors.get(1) not in (None, "Available")

        await until(app, started, timeout=20)
        await pilot.press("escape", "escape")
        await pilot.pause()
        table = app.screen.query_one(ChargerTable)
        assert "1:Available" not in str(table.get_cell(target, "connectors"))


async def test_inspector_shows_live_frames_and_filters_them(live: LiveSite, tmp_path: Path):
    app = live_app(live, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        await until(app, lambda: app.frames_live)
        target, other = sorted(app.state.chargers)[:2]
        screen.set_filter(charger=target, action="StatusNotification")
        await pilot.pause()
        await workers_done(app, ["history"])

        # Ask both chargers for a StatusNotification: both arrive live, only the target's is shown.
        for charger_id in (other, target):
            answer = await app.client.command(
                charger_id, "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}
            )
            assert answer == {"status": "Accepted"}
            await frame_seen(app, lambda e, c=charger_id: e.charger_id == c and _is_status_call(e))
        await pilot.pause()
        rows = screen.query_one(MessageTable).shown
        assert rows
        # The call from the charger and the central system's answer (logged under the call's action).
        assert {(row.charger_id, row.action) for row in rows} == {(target, "StatusNotification")}
        assert {row.direction for row in rows} == {"in", "out"}
        assert any(row.charger_id == other for row in screen.rows)  # received, filtered out


async def test_crafter_sends_a_raw_frame_to_a_simulated_charger(live: LiveSite, tmp_path: Path):
    app = live_app(live, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CrafterScreen)
        target = sorted(app.state.chargers)[0]
        screen.prefill(target, "DataTransfer", json.dumps({"vendorId": "com.example.test"}))
        screen.query_one("#payload", TextArea).text = json.dumps({"vendorId": "com.example.test"})
        screen.set_focus(None)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await workers_done(app, ["raw"])
        await pilot.pause()
        shown = str(screen.query_one("#crafter-result", Static).render())
        assert f"{target} answered DataTransfer" in shown
        assert "UnknownVendorId" in shown
