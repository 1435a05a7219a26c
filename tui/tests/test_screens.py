"""Pilot tests of every screen against the fake control API on a real socket.

Each test drives the console with keys, then checks both what the screen shows and what reached the
API (the fake records every request), so a form that "works" on screen but sends nothing fails.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from conftest import build_app, loaded, requested, until, workers_done
from fake_api import READONLY, T0, UPLINK_OFF, FakeApi, FakeApiServer, iso
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select, Static, TextArea

from voltyard_tui.app import VoltyardApp
from voltyard_tui.messages import EventsLoaded, HealthUpdated, StreamEventReceived
from voltyard_tui.models import Event
from voltyard_tui.screens.charger_detail import ChargerDetailScreen
from voltyard_tui.screens.command_modal import CommandModal
from voltyard_tui.screens.crafter import CrafterScreen
from voltyard_tui.screens.forms import ConfirmModal
from voltyard_tui.screens.inspector import InspectorScreen
from voltyard_tui.widgets.charger_table import ChargerTable
from voltyard_tui.widgets.event_log import EventLog
from voltyard_tui.widgets.gun_card import GunCard
from voltyard_tui.widgets.message_table import MessageTable
from voltyard_tui.widgets.ring import RingView
from voltyard_tui.widgets.uplink import UplinkLine

COMMANDS = "/api/v1/chargers/{}/commands/{}"


def text(widget: Static) -> str:
    return str(widget.render())


def log_text(log: EventLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


async def open_charger(pilot, app: VoltyardApp, charger_id: str) -> ChargerDetailScreen:
    await pilot.press("c")
    await pilot.pause()
    table = app.screen.query_one(ChargerTable)
    table.move_cursor(row=table.get_row_index(charger_id))
    await pilot.press("enter")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ChargerDetailScreen)
    await workers_done(app, ["detail"])
    return screen


async def open_command(pilot, app: VoltyardApp, charger_id: str, key: str) -> CommandModal:
    await open_charger(pilot, app, charger_id)
    await pilot.press(key)
    await pilot.pause()
    modal = app.screen
    assert isinstance(modal, CommandModal)
    return modal


async def type_into(pilot, widget: Input, value: str) -> None:
    widget.focus()
    await pilot.pause()
    await pilot.press(*value)


# -- dashboard ---------------------------------------------------------------------------------------------


async def test_dashboard_shows_power_counts_sessions_and_events(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await until(app, lambda: len(app.state.events) == 5)
        await pilot.pause()
        screen = app.screen
        assert "133.1 / 250.0 kW" in text(screen.query_one("#power-gauge", Static))
        assert text(screen.query_one("#count-online", Static)).split() == ["4", "online"]
        assert text(screen.query_one("#count-offline", Static)).split() == ["1", "offline"]
        assert text(screen.query_one("#count-faulted", Static)).split() == ["1", "faulted"]
        assert text(screen.query_one("#count-sessions", Static)).split() == ["2", "active", "sessions"]
        sessions = screen.query_one("#sessions", DataTable)
        assert [sessions.get_row_at(i)[1] for i in range(sessions.row_count)] == ["SIM00001", "SIM00005"]
        assert "ConnectorFaulted" in log_text(screen.query_one(EventLog))
        assert "live" in app.sub_title


async def test_dashboard_reloads_sessions_when_a_transaction_starts(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await fake.wait_stream()
        fake.transactions.append({**fake.transactions[0], "id": 103, "charger_id": "SIM00002"})
        await fake.push(
            "TransactionStarted", "SIM00002", {"transactionId": 103, "connectorId": 1, "idTag": "T"}
        )
        await until(
            app, lambda: any(e.kind == "TransactionStarted" and e.seq is None for e in app.state.events)
        )
        await pilot.pause()
        await workers_done(app, ["sessions"])
        assert len(app.state.active_sessions) == 3
        assert text(app.screen.query_one("#count-sessions", Static)).split()[0] == "3"


async def poll_health(app: VoltyardApp) -> None:
    """What the console's health poll does every 2 s (the tests' poll interval is an hour)."""
    app.post_message(HealthUpdated(await app.client.health(), await app.client.site()))


def line_on_screen(widget: Widget) -> str:
    """The widget's first line as the terminal shows it (its content, cut to its width), not the text it was
    given."""
    return widget.render_line(0).text


async def test_dashboard_shows_the_uplink_and_follows_its_state(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.pause()
        line = app.screen.query_one(UplinkLine)
        assert line.display
        assert text(line) == (
            "Uplink partial (3/4 online) · queued 3 · last sync 12 s ago · ws://csms.example.com:9000/ocpp/site-7"
        )

        fake.uplink = {**fake.uplink, "state": "offline", "queued": 7, "last_sync": iso(T0 - 125)}
        await poll_health(app)
        await until(app, lambda: app.state.health is not None and app.state.health.uplink.state == "offline")
        await pilot.pause()
        assert text(line).startswith("Uplink offline · queued 7 · last sync 2 min ago · ws://")

        fake.uplink = {**fake.uplink, "state": "online", "queued": 0, "last_sync": iso(T0 - 1)}
        await poll_health(app)
        await until(app, lambda: app.state.health is not None and app.state.health.uplink.state == "online")
        await pilot.pause()
        assert text(line).startswith("Uplink online · queued 0 · last sync 1 s ago")

        fake.uplink = dict(UPLINK_OFF)
        await poll_health(app)
        await until(app, lambda: app.state.health is not None and not app.state.health.uplink.enabled)
        await pilot.pause()
        assert not line.display  # a site without an uplink: nothing to say


async def test_dashboard_says_nothing_of_an_uplink_a_site_does_not_have(make_app, fake: FakeApi):
    fake.uplink = dict(UPLINK_OFF)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.pause()
        line = app.screen.query_one(UplinkLine)
        assert not line.display
        assert line.region.height == 0  # takes no line of the screen


async def test_the_uplink_line_keeps_state_and_queue_at_80_columns(make_app):
    """A narrow terminal cuts the URL, never the state, the queue or the last sync."""
    app = make_app()
    async with app.run_test(size=(80, 30)) as pilot:
        await loaded(app)
        await pilot.pause()
        line = app.screen.query_one(UplinkLine)
        shown = line_on_screen(line)
        assert shown.startswith("Uplink partial (3/4 online) · queued 3 · last sync 12 s ago · ws://"), shown
        assert shown.endswith("…"), shown
        assert len(shown) == line.content_region.width == 78


async def test_an_uplink_state_change_is_in_the_dashboards_event_log(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await fake.wait_stream()
        await fake.push("UplinkStateChanged", "SIM00002", {"state": "offline", "detail": "refused"})
        await until(app, lambda: any(e.kind == "UplinkStateChanged" for e in app.state.events))
        await pilot.pause()
        log = log_text(app.screen.query_one(EventLog))
        assert "SIM00002   UplinkStateChanged" in log
        assert "uplink offline (refused)" in log


async def test_charger_screen_shows_its_uplink_link_and_follows_it(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_charger(pilot, app, "SIM00005")
        summary = screen.query_one("#summary", Static)
        assert text(summary).splitlines()[-1] == "uplink pending (boot Rejected) · queued 3 · last sync never"

        points = dict(fake.uplink["charge_points"])
        points["SIM00005"] = {"state": "online", "detail": None, "queued": 0, "last_sync": iso(T0 - 3)}
        fake.uplink = {**fake.uplink, "charge_points": points}
        await poll_health(app)
        await until(
            app,
            lambda: (
                app.state.health is not None
                and app.state.health.uplink.charge_points["SIM00005"].state == "online"
            ),
        )
        await pilot.pause()
        assert text(summary).splitlines()[-1] == "uplink online · queued 0 · last sync 3 s ago"

        await pilot.press("escape")
        screen = await open_charger(pilot, app, "DEPOT-A1")  # not relayed upstream: no uplink line
        assert "uplink" not in text(screen.query_one("#summary", Static))


# -- chargers table ------------------------------------------------------------------------------------------


async def test_chargers_table_updates_live_from_the_stream(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("c")
        await pilot.pause()
        table = app.screen.query_one(ChargerTable)
        assert table.visible_ids() == ["DEPOT-A1", "SIM00001", "SIM00002", "SIM00003", "SIM00004", "SIM00005"]
        assert str(table.get_cell("SIM00002", "connectors")) == "1:Available 2:Available"

        await fake.wait_stream()
        await fake.push(
            "ConnectorStatusChanged",
            "SIM00002",
            {"connectorId": 1, "status": "Charging", "errorCode": "NoError", "previous": "Available"},
        )
        await until(app, lambda: app.state.chargers["SIM00002"].connectors[1].status == "Charging")
        await pilot.pause()
        assert str(table.get_cell("SIM00002", "connectors")) == "1:Charging 2:Available"

        await fake.push("ChargerDisconnected", "SIM00001", {})
        await until(app, lambda: not app.state.chargers["SIM00001"].online)
        await pilot.pause()
        assert str(table.get_cell("SIM00001", "state")) == "offline"

        await fake.push("ChargerConnected", "NEW00001", {"source": "10.0.0.99"})
        await until(app, lambda: "NEW00001" in app.state.chargers)
        await pilot.pause()
        assert "NEW00001" in table.visible_ids()
        assert "7 chargers shown" in text(app.screen.query_one("#chargers-summary", Static)).replace(
            "of 7 ", ""
        )


async def test_chargers_filter_as_you_type(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("c", "slash")
        await pilot.pause()
        table = app.screen.query_one(ChargerTable)
        await pilot.press("a", "l", "p")
        await pilot.pause()
        assert table.visible_ids() == ["SIM00005"]  # vendor Alpitronic
        await pilot.press("backspace", "backspace", "backspace", *"faulted")
        await pilot.pause()
        assert table.visible_ids() == ["SIM00003"]
        assert "1 of 6 chargers shown" in text(app.screen.query_one("#chargers-summary", Static))

        # A live change that makes a charger match shows it at once; one that stops matching hides it.
        await fake.wait_stream()
        await fake.push(
            "ConnectorStatusChanged",
            "SIM00002",
            {"connectorId": 2, "status": "Faulted", "errorCode": "GroundFailure"},
        )
        await until(app, lambda: app.state.chargers["SIM00002"].faulted)
        await pilot.pause()
        assert table.visible_ids() == ["SIM00002", "SIM00003"]

        await pilot.press("escape")
        await pilot.pause()
        assert len(table.visible_ids()) == 6


# -- charger screen and commands -----------------------------------------------------------------------------


async def test_charger_screen_shows_connectors_sessions_configuration_messages(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_charger(pilot, app, "SIM00001")
        assert "Voltyard SimCharger" in text(screen.query_one("#summary", Static))
        connectors = screen.query_one("#connectors", DataTable)
        assert [str(connectors.get_row_at(i)[1]) for i in range(connectors.row_count)] == [
            "Available", "Charging", "Available"]  # fmt: skip
        sessions = screen.query_one("#sessions", DataTable)
        assert sessions.get_row_at(0)[:3] == ["101", "1", "TAG-ALICE"]
        configuration = screen.query_one("#configuration", DataTable)
        assert configuration.get_row_at(0) == ["HeartbeatInterval", "300", ""]
        messages = screen.query_one("#messages", DataTable)
        assert [messages.get_row_at(i)[2] for i in range(messages.row_count)] == [
            "RemoteStartTransaction", "GetConfiguration", "Heartbeat"]  # fmt: skip
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen.query_one(ChargerTable), ChargerTable)


async def test_remote_start_from_the_charger_screen_sends_and_shows_the_answer(make_app, fake: FakeApi):
    fake.answers["RemoteStartTransaction"] = {"status": "Accepted"}
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        modal = await open_command(pilot, app, "SIM00001", "s")
        await type_into(pilot, modal.query_one("#field-connectorId", Input), "2")
        await type_into(pilot, modal.query_one("#field-idTag", Input), "TAG-DAVE")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await workers_done(app, ["send"])
        await pilot.pause()
        calls = fake.calls("POST", COMMANDS.format("SIM00001", "RemoteStartTransaction"))
        assert [c.body for c in calls] == [{"connectorId": 2, "idTag": "TAG-DAVE"}]
        assert modal.answer == {"status": "Accepted"}
        shown = text(modal.query_one("#result", Static))
        assert "SIM00001 answered" in shown
        assert '"Accepted"' in shown


async def test_invalid_form_input_is_refused_before_sending(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        modal = await open_command(pilot, app, "SIM00001", "s")
        await type_into(pilot, modal.query_one("#field-connectorId", Input), "two")
        await type_into(pilot, modal.query_one("#field-idTag", Input), "X" * 21)
        modal.query_one("#field-chargingProfile", TextArea).text = "[1, 2"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert text(modal.query_one("#error-connectorId", Static)) == "expected a whole number, got 'two'"
        assert text(modal.query_one("#error-idTag", Static)) == "at most 20 characters, got 21"
        assert text(modal.query_one("#error-chargingProfile", Static)).startswith("not JSON")
        assert "Not sent" in text(modal.query_one("#result", Static))

        modal.query_one("#field-idTag", Input).value = ""
        modal.query_one("#field-connectorId", Input).value = "1"
        modal.query_one("#field-chargingProfile", TextArea).text = "[]"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert text(modal.query_one("#error-idTag", Static)) == "required"
        assert text(modal.query_one("#error-chargingProfile", Static)) == "expected a JSON object"
        assert text(modal.query_one("#error-connectorId", Static)) == ""
        assert fake.calls("POST", COMMANDS.format("SIM00001", "RemoteStartTransaction")) == []
        assert modal.sent == []


async def test_the_apis_422_message_is_shown(make_app, fake: FakeApi):
    message = "csChargingProfiles.chargingSchedule: 'chargingSchedulePeriod' is a required property"
    fake.fail_next(422, "invalid_request", message)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await open_charger(pilot, app, "SIM00001")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"setcharg", "enter")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, CommandModal)
        assert modal.spec.name == "SetChargingProfile"
        await type_into(pilot, modal.query_one("#field-connectorId", Input), "0")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await workers_done(app, ["send"])
        await pilot.pause()
        assert len(fake.calls("POST", COMMANDS.format("SIM00001", "SetChargingProfile"))) == 1
        assert text(modal.query_one("#result", Static)) == f"422 invalid_request: {message}"


async def test_typed_errors_offline_and_call_error(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        modal = await open_command(pilot, app, "SIM00004", "t")
        await type_into(pilot, modal.query_one("#field-transactionId", Input), "7")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)  # a remote stop ends a charge: asked first
        await pilot.press("y")
        await pilot.pause()
        await workers_done(app, ["send"])
        await pilot.pause()
        assert text(modal.query_one("#result", Static)) == "409 charger_offline: SIM00004 is not connected"

        fake.fail_next(
            502,
            "call_error",
            "SIM00004 answered with CALLERROR NotSupported",
            {"error_code": "NotSupported", "description": "no remote stop", "error_details": {}},
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await workers_done(app, ["send"])
        await pilot.pause()
        shown = text(modal.query_one("#result", Static))
        assert shown.startswith("502 call_error:")
        assert "CALLERROR NotSupported: no remote stop" in shown


async def test_choice_fields_and_the_action_picker(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await open_charger(pilot, app, "SIM00002")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"reset", "enter")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, CommandModal)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert text(modal.query_one("#error-type", Static)) == "required"  # no default for a reset
        modal.query_one("#field-type", Select).value = "Soft"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")  # a reset is confirmed first
        await pilot.pause()
        await workers_done(app, ["send"])
        assert [c.body for c in fake.calls("POST", COMMANDS.format("SIM00002", "Reset"))] == [
            {"type": "Soft"}
        ]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChargerDetailScreen)


async def test_reset_asks_first_and_a_second_press_does_not_send_it_twice(make_app, fake: FakeApi):
    """Issue 15 finding 11: Reset went out without confirmation, and twice on a second key press."""
    app = make_app()
    reset = COMMANDS.format("SIM00002", "Reset")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await open_charger(pilot, app, "SIM00002")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"reset", "enter")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, CommandModal)
        modal.query_one("#field-type", Select).value = "Hard"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("ctrl+s")  # pressed again while the confirmation is open
        await pilot.pause()
        assert fake.calls("POST", reset) == []
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is modal
        assert fake.calls("POST", reset) == []
        assert "Not sent" in text(modal.query_one("#result", Static))

        fake.gate = asyncio.Event()  # the charger takes its time: the command stays in flight
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await requested(fake, "POST", reset)
        await pilot.press("ctrl+s", "ctrl+s")  # impatient presses while it is in flight
        await pilot.pause()
        assert app.screen is modal
        fake.gate.set()
        await workers_done(app, ["send"])
        await pilot.pause()
        assert [c.body for c in fake.calls("POST", reset)] == [{"type": "Hard"}]
        assert "answered" in text(modal.query_one("#result", Static))


async def test_a_read_only_token_is_refused_with_403(fake: FakeApi, api: FakeApiServer, tmp_path: Path):
    app = build_app(api.url, tmp_path, READONLY, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        assert "read-only" in app.sub_title
        modal = await open_command(pilot, app, "SIM00001", "s")
        await type_into(pilot, modal.query_one("#field-idTag", Input), "TAG")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await workers_done(app, ["send"])
        await pilot.pause()
        assert text(modal.query_one("#result", Static)) == "403 forbidden: this token is read-only"


# -- inspector -----------------------------------------------------------------------------------------------


async def open_inspector(pilot, app: VoltyardApp) -> InspectorScreen:
    await pilot.press("i")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, InspectorScreen)
    await workers_done(app, ["history"])
    await pilot.pause()
    return screen


def shown_actions(screen: InspectorScreen) -> list[tuple[str, str]]:
    return [(row.charger_id, row.action) for row in screen.query_one(MessageTable).shown]


async def test_inspector_filters_by_charger_action_and_direction(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_inspector(pilot, app)
        assert len(shown_actions(screen)) == 6
        assert shown_actions(screen)[0] == ("SIM00001", "Heartbeat")  # oldest first

        await pilot.press("slash", *"SIM00001")
        await workers_done(app, ["history"])
        await pilot.pause()
        assert shown_actions(screen) == [("SIM00001", "Heartbeat"), ("SIM00001", "GetConfiguration"),
                                         ("SIM00001", "RemoteStartTransaction")]  # fmt: skip
        assert fake.requests[-1].query["charger_id"] == "SIM00001"

        screen.query_one("#filter-direction", Select).value = "out"
        await pilot.pause()
        await workers_done(app, ["history"])
        await pilot.pause()
        assert shown_actions(screen) == [
            ("SIM00001", "GetConfiguration"),
            ("SIM00001", "RemoteStartTransaction"),
        ]
        assert fake.requests[-1].query["direction"] == "out"

        screen.set_filter(action="Status")
        await pilot.pause()
        await workers_done(app, ["history"])
        await pilot.pause()
        assert shown_actions(screen) == [
            ("SIM00002", "StatusNotification"),
            ("SIM00003", "StatusNotification"),
        ]


async def test_inspector_shows_live_frames_and_pauses(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_inspector(pilot, app)
        await fake.wait_stream(frozenset({"MessageIn", "MessageOut"}))
        frame = json.dumps([2, "live-1", "Heartbeat", {}])
        sent = await fake.push(
            "MessageIn",
            "SIM00002",
            {"action": "Heartbeat", "messageId": "live-1", "messageType": 2, "frame": frame},
        )
        assert sent == 1  # only the inspector's stream asked for frames
        await pilot.pause()
        await _frames(pilot, screen, 7)
        assert shown_actions(screen)[-1] == ("SIM00002", "Heartbeat")
        assert screen.query_one(MessageTable).highlighted_row().message_id == "live-1"  # follows the newest

        await pilot.press("p")
        await fake.push(
            "MessageOut",
            "SIM00002",
            {
                "action": "Reset",
                "messageId": "live-2",
                "messageType": 2,
                "frame": json.dumps([2, "live-2", "Reset", {"type": "Soft"}]),
            },
        )
        await _held(pilot, screen, 1)
        assert len(shown_actions(screen)) == 7
        assert "PAUSED, 1 new held" in text(screen.query_one("#inspector-status", Static))

        await pilot.press("p")
        await pilot.pause()
        assert shown_actions(screen)[-1] == ("SIM00002", "Reset")
        assert "live" in text(screen.query_one("#inspector-status", Static))


async def _frames(pilot, screen: InspectorScreen, count: int) -> None:
    """Until the table shows `count` frames: each live frame is a signal callback, run at the next pause."""
    for _ in range(50):
        if len(screen.query_one(MessageTable).shown) >= count:
            return
        await pilot.pause()
    raise AssertionError(f"{len(screen.query_one(MessageTable).shown)} frames shown, expected {count}")


async def _held(pilot, screen: InspectorScreen, count: int) -> None:
    for _ in range(50):
        if len(screen.held) >= count:
            return
        await pilot.pause()
    raise AssertionError(f"{len(screen.held)} frames held, expected {count}")


async def test_inspector_exports_through_the_api(make_app, fake: FakeApi, tmp_path: Path):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_inspector(pilot, app)
        screen.set_filter(charger="SIM00003")
        await pilot.pause()
        await workers_done(app, ["history"])
        await pilot.press("j")
        await pilot.pause()
        await workers_done(app, ["export"])
        await pilot.press("v")
        await pilot.pause()
        await workers_done(app, ["export"])
        exported = json.loads((tmp_path / "voltyard-messages.json").read_text())
        assert [m["message_id"] for m in exported["items"]] == ["sn-9"]
        assert fake.calls("GET", "/api/v1/messages/export")[0].query == {
            "format": "json",
            "charger_id": "SIM00003",
        }
        csv_lines = (tmp_path / "voltyard-messages.csv").read_text().splitlines()
        assert len(csv_lines) == 2
        assert csv_lines[0].startswith("charger_id,")


# -- crafter -------------------------------------------------------------------------------------------------


async def test_crafter_sends_a_raw_frame_unvalidated(make_app, fake: FakeApi):
    fake.answers["DataTransfer"] = {"status": "UnknownVendorId"}
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CrafterScreen)
        await type_into(pilot, screen.query_one("#crafter-charger", Input), "SIM00002")
        await type_into(pilot, screen.query_one("#crafter-action", Input), "DataTransfer")
        screen.query_one("#payload", TextArea).text = '{"vendorId": 42}'  # wrong on purpose: not a string
        screen.query_one("#validate").focus()
        await pilot.press("space")  # untick "validate"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await workers_done(app, ["raw"])
        await pilot.pause()
        calls = fake.calls("POST", "/api/v1/chargers/SIM00002/raw")
        assert [c.body for c in calls] == [
            {"action": "DataTransfer", "payload": {"vendorId": 42}, "validate": False}
        ]
        assert '"UnknownVendorId"' in text(screen.query_one("#crafter-result", Static))


async def test_crafter_refuses_what_the_route_cannot_take(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_charger(pilot, app, "SIM00001")
        await pilot.press("w")  # raw frame for this charger
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CrafterScreen)
        assert screen.query_one("#crafter-charger", Input).value == "SIM00001"
        await type_into(pilot, screen.query_one("#crafter-action", Input), "Reset")
        screen.query_one("#payload", TextArea).text = '{"type": "Soft"'
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert text(screen.query_one("#crafter-result", Static)).startswith("Not sent: payload: not JSON")
        await pilot.press("ctrl+t")  # the template for the action
        await pilot.pause()
        assert json.loads(screen.query_one("#payload", TextArea).text) == {"type": "Hard"}
        assert fake.calls("POST", "/api/v1/chargers/SIM00001/raw") == []


# -- cabinet -------------------------------------------------------------------------------------------------


async def test_cabinet_screen_draws_the_ring_and_guns(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("b")
        await pilot.pause()
        await workers_done(app, ["cabinet"])
        await pilot.pause()
        screen = app.screen
        assert text(screen.query_one("#cabinet-status", Static)) == "6 slots · 12 modules · 3 guns"
        ring = screen.query_one(RingView)
        drawn = "\n".join(line.text for line in ring.render_lines(ring.region.reset_offset))  # type: ignore[attr-defined]
        for label in ("S1 G1", "S2", "S3 G2", "S4 G3", "S6", "TRIP", "72°C", "════"):
            assert label in drawn, label
        assert ring.cabinet.island_of(1) == 0
        assert ring.cabinet.island_of(5) is None
        cards = list(screen.query(GunCard))
        assert [c.border_title for c in cards] == ["[b]Gun 1[/b]", "[b]Gun 2[/b]", "[b]Gun 3[/b]"]
        assert "89.7 kW" in text(cards[0])
        assert "budget 40.0 kW (thermal)" in text(cards[1])


async def test_cabinet_screen_without_a_cabinet(make_app, fake: FakeApi):
    fake.cabinet = {"configured": False}
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("b")
        await pilot.pause()
        await workers_done(app, ["cabinet"])
        await pilot.pause()
        assert (
            text(app.screen.query_one("#cabinet-status", Static))
            == "No cabinet configured on this appliance."
        )
        assert not app.screen.query_one("#cabinet-body").display


# -- events, palette, connection -----------------------------------------------------------------------------


async def test_events_screen_lists_filters_and_alerts(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await until(app, lambda: len(app.state.events) == 5)
        await pilot.press("e")
        await pilot.pause()
        log = app.screen.query_one(EventLog)
        assert log.shown == 5
        await pilot.press("a")  # alerts only
        await pilot.pause()
        assert log.shown == 1
        assert "ConnectorFaulted" in log_text(log)

        await fake.wait_stream()
        await fake.push("Alert", "SIM00002", {"kind": "HeartbeatLost", "silentFor": 900})
        await until(app, lambda: len(app.state.events) == 6)
        await pilot.pause()
        assert log.shown == 2
        assert any("HeartbeatLost" in n.message for n in app._notifications)
        assert not app.state.chargers["SIM00002"].online

        await pilot.press("a", "slash", *"sim00004")
        await pilot.pause()
        assert log.shown == 1
        assert "ChargerDisconnected" in log_text(log)


async def test_command_palette_opens_a_charger(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"charger SIM00003")
        await pilot.pause(0.5)  # the palette searches in a worker with a short debounce of its own
        await pilot.press("enter")
        await pilot.pause()
        await workers_done(app, ["detail"])
        screen = app.screen
        assert isinstance(screen, ChargerDetailScreen)
        assert screen.charger_id == "SIM00003"


async def test_reconnects_after_the_api_restarts_and_says_so(make_app, api: FakeApiServer, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        assert app.connected
        snapshots = len(fake.calls("GET", "/api/v1/chargers"))

        await api.stop()
        await until(app, lambda: not app.connected)
        await pilot.pause()
        assert "API unreachable (" in app.sub_title
        assert "reconnecting in" in app.sub_title
        assert any("Lost the control API" in n.message for n in app._notifications)

        fake.chargers[1]["online"] = False  # changed while the console could not hear it
        await api.start()
        await until(app, lambda: app.connected and not app.state.chargers["SIM00002"].online)
        await pilot.pause()
        assert app.sub_title.endswith("· live")
        assert any(n.message == "Reconnected to the control API." for n in app._notifications)
        assert len(fake.calls("GET", "/api/v1/chargers")) == snapshots + 1


async def test_an_unknown_token_is_reported(api: FakeApiServer, tmp_path: Path):
    app = build_app(api.url, tmp_path, "not-a-token")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(app, lambda: "the API refused the token" in app.sub_title)
        await pilot.pause()
        assert "401 unauthorized" in app.sub_title
        assert not app.connected
        assert app.state.chargers == {}


async def test_a_live_event_between_the_logs_snapshot_and_its_redraw_is_shown_once(make_app):
    """Found with UplinkStateChanged: an event streamed while the log's tail was being loaded was written by
    the redraw from the state and then again as the live event, twice in the dashboard's log."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await until(app, lambda: len(app.state.events) == 5)
        await pilot.pause()
        live = Event("UplinkStateChanged", "SIM00002", T0 + 1, {"state": "offline", "detail": "refused"})
        # The order the app met them in on a (re)connect: the log's tail, then a live event, before the
        # dashboard got to redraw from the tail.
        app.post_message(EventsLoaded(tuple(app.state.events)))
        app.post_message(StreamEventReceived("events", live))
        await until(app, lambda: any(e is live for e in app.state.events))
        await pilot.pause()
        await pilot.pause()
        assert log_text(app.screen.query_one(EventLog)).count("UplinkStateChanged") == 1
