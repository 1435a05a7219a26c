"""An operator's day in the console (issue 15 findings 5, 6, 10, 11), against a real `voltyard serve`.

The installed `voltyard` entry point serves a fresh data dir on loopback; a real OCPP charger (the `ocpp`
library's ChargePoint over a real websocket) plays the site; the console (`voltyard_tui`) is driven by
Pilot with the operator token from the data dir. What the console did is checked on the appliance through
its control API, never on the console's own say-so. Waits poll the real system (generous hang guards).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from ocpp.v16 import call

from tests.e2e.peer import connected_peer
from tests.journeys.appliance import ApiAnswer, RunningAppliance

textual = pytest.importorskip("textual", reason="the console (pip install ./tui) is not installed")

from textual.widgets import DataTable, Input  # noqa: E402 - after the skip: only with the console installed
from voltyard_tui.app import VoltyardApp  # noqa: E402
from voltyard_tui.client import ApiClient  # noqa: E402
from voltyard_tui.models import format_time, parse_time  # noqa: E402
from voltyard_tui.screens.alerts import AlertsScreen  # noqa: E402
from voltyard_tui.screens.forms import ConfirmModal, FormModal  # noqa: E402
from voltyard_tui.screens.registrations import RegistrationsScreen  # noqa: E402
from voltyard_tui.screens.tags import TagsScreen  # noqa: E402
from voltyard_tui.screens.transactions import TransactionsScreen  # noqa: E402

SIZE = (140, 40)
OPERATOR = "olga"
NOW = "2026-11-25T10:00:00Z"


def console(appliance: RunningAppliance) -> VoltyardApp:
    return VoltyardApp(ApiClient(appliance.api_url, appliance.token()), operator=OPERATOR)


async def api(appliance: RunningAppliance, method: str, path: str, body: Any = None) -> ApiAnswer:
    # Off the loop: the charger and the console on this loop go on while the API call waits.
    return await asyncio.to_thread(appliance.api, method, path, body)


async def settle(pilot: Any, condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Until `condition()` gives something truthy (the console and the appliance are real: poll)."""
    for _ in range(int(timeout / 0.1)):
        await pilot.pause()
        result = condition()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def eventually(appliance: RunningAppliance, path: str, found: Callable[[Any], Any], what: str) -> Any:
    for _ in range(150):
        answer = await api(appliance, "GET", path)
        assert answer.status == 200, answer
        result = found(answer.json)
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; server log:\n{appliance.text[-3000:]}")


def rows(table: DataTable[Any]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def loaded(pilot: Any, app: VoltyardApp) -> None:
    await settle(pilot, lambda: app.connected and app.state.health is not None, "the console to connect")


async def test_console_changes_the_site_limit_with_confirmation(appliance: RunningAppliance) -> None:
    app = console(appliance)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        before = (await api(appliance, "GET", "/site")).json["limit_kw"]
        await pilot.press("l")
        form = await settle(pilot, lambda: isinstance(app.screen, FormModal) and app.screen, "the limit form")
        form.query_one("#field-limit_kw", Input).value = "180"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert (await api(appliance, "GET", "/site")).json["limit_kw"] == before  # nothing sent yet
        await pilot.press("y")
        await eventually(appliance, "/site", lambda site: site["limit_kw"] == 180, "the new limit")
        audit = await eventually(
            appliance,
            "/events?latest=50&category=operator",
            lambda body: [e for e in body["items"] if e["kind"] == "SiteLimitChanged"],
            "the audited change",
        )
        assert audit[-1]["data"]["operator"] == OPERATOR
        assert audit[-1]["data"]["previousKw"] == before
        await settle(pilot, lambda: app.state.limit_kw == 180, "the console to show the new limit")


async def test_console_adds_and_blocks_an_id_tag(appliance: RunningAppliance) -> None:
    app = console(appliance)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("g")
        screen = await settle(pilot, lambda: isinstance(app.screen, TagsScreen) and app.screen, "the tags")
        await pilot.press("a")
        form = await settle(pilot, lambda: isinstance(app.screen, FormModal) and app.screen, "the tag form")
        form.query_one("#field-id_tag", Input).value = "CARD-OLGA"
        form.query_one("#field-expiry", Input).value = "2027-03-31"
        form.query_one("#field-parent", Input).value = "FLEET-1"
        await pilot.press("ctrl+s")
        tags = await eventually(
            appliance,
            "/id-tags",
            lambda body: [t for t in body["items"] if t["id_tag"] == "CARD-OLGA"],
            "the new tag",
        )
        assert tags[0]["status"] == "Accepted"
        assert tags[0]["parent_id_tag"] == "FLEET-1"
        assert tags[0]["expiry_date"].startswith(("2027-03-30", "2027-03-31"))  # local midnight, in UTC
        table = screen.query_one("#tags", DataTable)
        await settle(pilot, lambda: "CARD-OLGA" in [r[0] for r in rows(table)], "the tag in the table")

        table.move_cursor(row=table.get_row_index("CARD-OLGA"))
        await pilot.press("o")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmModal), "the block confirmation")
        await pilot.press("y")
        await eventually(
            appliance,
            "/id-tags",
            lambda body: [
                t for t in body["items"] if t["id_tag"] == "CARD-OLGA" and t["status"] == "Blocked"
            ],
            "the tag blocked",
        )
        await settle(pilot, lambda: rows(table)[0][:2] == ["CARD-OLGA", "Blocked"], "the blocked row")


async def test_console_accepts_a_pending_charger(tmp_path: Any) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config='[ocpp]\nunknown_charger = "pending"\n')
    try:
        async with connected_peer(appliance.ocpp_port, "CP-NEW") as _charger:
            app = console(appliance)
            async with app.run_test(size=SIZE) as pilot:
                await loaded(pilot, app)
                await pilot.press("n")
                screen = await settle(
                    pilot,
                    lambda: isinstance(app.screen, RegistrationsScreen) and app.screen,
                    "the pending list",
                )
                table = screen.query_one("#pending", DataTable)
                await settle(pilot, lambda: [r[0] for r in rows(table)] == ["CP-NEW"], "CP-NEW pending")
                await pilot.press("a")
                await eventually(
                    appliance,
                    "/chargers/CP-NEW",
                    lambda view: view["registration"] == "Accepted",
                    "CP-NEW accepted",
                )
                await settle(pilot, lambda: table.row_count == 0, "the pending list emptied")
    finally:
        appliance.stop()


async def test_console_shows_a_transactions_live_energy_and_its_start(appliance: RunningAppliance) -> None:
    tag = await api(appliance, "PUT", "/id-tags/CARD-1", {"status": "Accepted", "operator": OPERATOR})
    assert tag.status == 200, tag
    async with connected_peer(appliance.ocpp_port, "CP-DAY") as charger:
        started = await charger.call(
            call.StartTransaction(connector_id=1, id_tag="CARD-1", meter_start=1000, timestamp=NOW)
        )
        tx = str(started.transaction_id)

        async def reading(kwh: str) -> None:
            value = [{"timestamp": NOW, "sampledValue": [
                {"value": kwh, "measurand": "Energy.Active.Import.Register", "unit": "kWh"}]}]  # fmt: skip
            await charger.call(
                call.MeterValues(connector_id=1, transaction_id=started.transaction_id, meter_value=value)
            )

        await reading("25.5")
        app = console(appliance)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            # The dashboard: the session's start in local time, not `?`.
            start = format_time(parse_time(NOW), "%H:%M:%S")
            sessions = app.screen.query_one("#sessions", DataTable)
            await settle(
                pilot, lambda: any(r[0] == tx and r[4] == start for r in rows(sessions)), "the start"
            )

            await pilot.press("h")
            screen = await settle(
                pilot, lambda: isinstance(app.screen, TransactionsScreen) and app.screen, "the history"
            )
            table = screen.query_one("#history", DataTable)

            def energy() -> str | None:
                found = [r for r in rows(table) if r[0] == tx]
                return found[0][7] if found else None

            await settle(pilot, lambda: energy() == "24.50", "24.50 kWh (25.5 kWh read, 1 kWh at start)")
            assert next(r for r in rows(table) if r[0] == tx)[5] == "charging"
            await reading("27.0")  # live: the next reading shows without a key press
            await settle(pilot, lambda: energy() == "26.00", "the live energy to move to 26.00 kWh")


async def test_console_acknowledges_an_alert(appliance: RunningAppliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-FAULT") as charger:
        await charger.call(
            call.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted")
        )
        alerts = await eventually(
            appliance,
            "/alerts",
            lambda body: [a for a in body["items"] if a["data"].get("errorCode") == "GroundFailure"],
            "the ground fault alert",
        )
        seq = str(alerts[0]["seq"])
        app = console(appliance)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("k")
            screen = await settle(
                pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen, "alerts"
            )
            table = screen.query_one("#alerts", DataTable)
            await settle(pilot, lambda: seq in [r[0] for r in rows(table)], "the alert listed")
            table.move_cursor(row=table.get_row_index(seq))
            await pilot.press("a")
            acked = await eventually(
                appliance,
                "/alerts?state=acknowledged",
                lambda body: [a for a in body["items"] if str(a["seq"]) == seq],
                "the alert acknowledged",
            )
            assert acked[0]["acknowledged_by"] == OPERATOR
            await settle(pilot, lambda: seq not in [r[0] for r in rows(table)], "the alert off the open list")
            audit = await eventually(
                appliance,
                "/events?latest=100&category=operator",
                lambda body: [e for e in body["items"] if e["kind"] == "AlertAcknowledged"],
                "the acknowledgement audited",
            )
            assert [e["data"]["operator"] for e in audit] == [OPERATOR]
