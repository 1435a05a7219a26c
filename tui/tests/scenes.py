"""The main screens set up for a picture, for the snapshot tests (against the fake API).

The docs' screenshots are taken from a real appliance by scripts/screenshots.py, not from these scenes.

Each scene takes a Pilot of a console connected to the fake API (`FakeApi.with_site()`), waits for the
data, and leaves the screen in the state to draw. The API's random test port is replaced in the title by
the default URL, so a picture does not depend on which port the fake happened to get.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from conftest import loaded, until, workers_done
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from voltyard_tui.app import DEFAULT_API_URL, VoltyardApp
from voltyard_tui.widgets.charger_table import ChargerTable

Scene = Callable[[Pilot[None]], Awaitable[None]]

POWER_KW = [96.0, 104.5, 118.2, 126.0, 131.4, 140.8, 152.3, 149.0, 138.6, 127.9, 121.0, 133.1] * 3


def console(pilot: Pilot[None]) -> VoltyardApp:
    app = pilot.app
    assert isinstance(app, VoltyardApp)
    return app


async def _ready(pilot: Pilot[None]) -> VoltyardApp:
    app = console(pilot)
    await loaded(app)
    await until(app, lambda: len(app.state.events) >= 5)
    app.state.power_history.clear()
    app.state.power_history.extend(POWER_KW)
    app.sub_title = app.sub_title.replace(app.client.base_url, DEFAULT_API_URL)
    app.screen.refresh()
    await pilot.pause()
    return app


async def dashboard(pilot: Pilot[None]) -> None:
    app = await _ready(pilot)
    app.screen.redraw()  # type: ignore[attr-defined]
    await pilot.pause()


async def chargers(pilot: Pilot[None]) -> None:
    await _ready(pilot)
    await pilot.press("c")
    await pilot.pause()


async def chargers_filtered(pilot: Pilot[None]) -> None:
    await _ready(pilot)
    await pilot.press("c", "slash", *"sim fault")
    await pilot.pause()


async def charger_detail(pilot: Pilot[None]) -> None:
    app = await _ready(pilot)
    await pilot.press("c")
    await pilot.pause()
    table = app.screen.query_one(ChargerTable)
    table.move_cursor(row=table.get_row_index("SIM00001"))
    await pilot.press("enter")
    await pilot.pause()
    await workers_done(app, ["detail"])
    await pilot.pause()


async def command_form(pilot: Pilot[None]) -> None:
    """RemoteStartTransaction sent, and refused input shown in a second form (422 from the API)."""
    app = console(pilot)
    await charger_detail(pilot)
    await pilot.press("s")
    await pilot.pause()
    app.screen.query_one("#field-connectorId", Input).value = "2"
    app.screen.query_one("#field-idTag", Input).value = "TAG-DAVE"
    await pilot.press("ctrl+s")
    await pilot.pause()
    await workers_done(app, ["send"])
    await pilot.pause()


async def command_refused(pilot: Pilot[None]) -> None:
    app = console(pilot)
    await charger_detail(pilot)
    await pilot.press("s")
    await pilot.pause()
    app.screen.query_one("#field-connectorId", Input).value = "two"
    app.screen.query_one("#field-chargingProfile", TextArea).text = '{"chargingProfileId": 1'
    await pilot.press("ctrl+s")
    await pilot.pause()


async def cabinet(pilot: Pilot[None]) -> None:
    app = await _ready(pilot)
    await pilot.press("b")
    await pilot.pause()
    await workers_done(app, ["cabinet"])
    await pilot.pause()


async def inspector(pilot: Pilot[None]) -> None:
    app = await _ready(pilot)
    await pilot.press("i")
    await pilot.pause()
    await workers_done(app, ["history"])
    await pilot.pause()


async def crafter(pilot: Pilot[None]) -> None:
    app = await _ready(pilot)
    await pilot.press("x")
    await pilot.pause()
    screen = app.screen
    screen.prefill(
        "SIM00002", "DataTransfer", json.dumps({"vendorId": "com.example", "data": "ping"}, indent=2)
    )  # type: ignore[attr-defined]
    screen.set_focus(None)
    await pilot.press("ctrl+s")
    await pilot.pause()
    await workers_done(app, ["raw"])
    await pilot.pause()


async def events(pilot: Pilot[None]) -> None:
    await _ready(pilot)
    await pilot.press("e")
    await pilot.pause()


async def _mode(pilot: Pilot[None], key: str, group: str) -> None:
    app = await _ready(pilot)
    await pilot.press(key)
    await pilot.pause()
    await workers_done(app, [group])
    await pilot.pause()


async def history(pilot: Pilot[None]) -> None:
    await _mode(pilot, "h", "history")


async def tags(pilot: Pilot[None]) -> None:
    await _mode(pilot, "g", "tags")


async def alerts(pilot: Pilot[None]) -> None:
    await _mode(pilot, "k", "alerts")


async def site_limit(pilot: Pilot[None]) -> None:
    app = await _ready(pilot)
    await pilot.press("l")
    await pilot.pause()
    app.screen.query_one("#field-limit_kw", Input).value = "180"
    await pilot.press("ctrl+s")
    await pilot.pause()


SCENES: dict[str, Scene] = {
    "dashboard": dashboard,
    "chargers": chargers,
    "chargers-filtered": chargers_filtered,
    "charger-detail": charger_detail,
    "command-form": command_form,
    "command-refused": command_refused,
    "cabinet": cabinet,
    "inspector": inspector,
    "crafter": crafter,
    "events": events,
    "history": history,
    "tags": tags,
    "alerts": alerts,
    "site-limit": site_limit,
}
