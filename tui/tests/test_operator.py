"""Pilot tests of the operator's day against the fake API: each task by its keys, checked on screen and on
what reached the API (issue 15 findings 5, 6 and 11, console side)."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

from conftest import loaded, requested, until, workers_done
from fake_api import T0, FakeApi, iso
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from voltyard_tui.app import default_operator
from voltyard_tui.cli import build_parser
from voltyard_tui.models import Event, Transaction, format_time, parse_time
from voltyard_tui.screens.alerts import AlertsScreen
from voltyard_tui.screens.charger_detail import ChargerDetailScreen
from voltyard_tui.screens.forms import ConfirmModal, FormModal
from voltyard_tui.screens.log import EventsScreen
from voltyard_tui.screens.registrations import RegistrationsScreen
from voltyard_tui.screens.tags import TagsScreen
from voltyard_tui.screens.transactions import TransactionsScreen
from voltyard_tui.widgets.event_log import EventLog


def text(widget: Static) -> str:
    return str(widget.render())


def rows(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def form(pilot, app) -> FormModal:
    await pilot.pause()
    modal = app.screen
    assert isinstance(modal, FormModal)
    return modal


async def set_input(pilot, modal: FormModal, name: str, value: str) -> None:
    modal.query_one(f"#field-{name}", Input).value = value
    await pilot.pause()


# -- times ---------------------------------------------------------------------------------------------------


def test_times_are_parsed_in_one_place_and_shown_in_local_time():
    assert parse_time("2026-01-01T12:00:00.000Z") == T0
    assert parse_time("2026-01-01T13:00:00+01:00") == T0
    assert parse_time(iso(T0 - 1800)) == T0 - 1800
    assert parse_time(T0) == T0  # an older appliance's unix seconds
    assert parse_time("not a time") is None
    assert parse_time(None) is None
    tx = Transaction.from_json({"id": 1, "start_time": "2026-01-01T11:30:00.000Z", "stop_time": None})
    assert format_time(tx.start_time, "%H:%M:%S") == "11:30:00"  # TZ=UTC in the tests
    assert Event.from_json({"kind": "X", "time": "2026-01-01T12:00:00Z"}).time == T0


async def test_dashboard_shows_session_start_times_not_question_marks(make_app):
    """Issue 15 finding 10: every session start showed `?` (the API sends ISO strings)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.pause()
        sessions = rows(app.screen.query_one("#sessions", DataTable))
        assert [row[4] for row in sessions] == ["11:30:00", "11:50:00"]


# -- site limit ----------------------------------------------------------------------------------------------


async def test_site_limit_is_confirmed_and_sent_with_the_operators_name(make_app, fake: FakeApi):
    app = make_app()
    app.operator = "alice"
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("l")
        modal = await form(pilot, app)
        assert modal.query_one("#field-limit_kw", Input).value == "250"
        await set_input(pilot, modal, "limit_kw", "lots")
        await pilot.press("ctrl+s")
        await workers_done(app, ["form"])
        await pilot.pause()
        assert "limit_kw: 'lots' is not a number of kW" in text(modal.query_one("#form-result", Static))
        assert fake.calls("PUT", "/api/v1/site") == []

        await set_input(pilot, modal, "limit_kw", "180")
        await pilot.press("ctrl+s")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmModal)
        assert "from 250 kW to 180 kW, as alice" in text(confirm.query_one("#confirm-question", Static))
        await pilot.press("y")
        await until(app, lambda: app.state.limit_kw == 180.0)
        assert [c.body for c in fake.calls("PUT", "/api/v1/site")] == [
            {"limit_kw": 180.0, "operator": "alice"}
        ]
        assert not isinstance(app.screen, FormModal)


def test_operator_defaults_to_the_login_name():
    assert build_parser().parse_args([]).operator is None  # resolved to the login name in main()
    assert build_parser().parse_args(["--operator", "bob"]).operator == "bob"
    assert default_operator() == getpass.getuser()
    assert "--operator NAME" in build_parser().format_help()


# -- id tags -------------------------------------------------------------------------------------------------


async def open_tags(pilot, app) -> TagsScreen:
    await pilot.press("g")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, TagsScreen)
    await workers_done(app, ["tags"])
    await pilot.pause()
    return screen


async def test_tags_add_with_expiry_and_parent_block_delete(make_app, fake: FakeApi):
    app = make_app()
    app.operator = "alice"
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_tags(pilot, app)
        table = screen.query_one("#tags", DataTable)
        assert [r[0] for r in rows(table)] == ["TAG-ALICE", "TAG-BOB", "TAG-MALLORY"]
        assert rows(table)[0][3] == "FLEET-1"

        await pilot.press("a")
        modal = await form(pilot, app)
        await set_input(pilot, modal, "id_tag", "TAG-DAVE")
        await set_input(pilot, modal, "expiry", "2026-06-30 18:00")
        await set_input(pilot, modal, "parent", "FLEET-1")
        await pilot.press("ctrl+s")
        await workers_done(app, ["form"])
        await workers_done(app, ["tags"])
        await pilot.pause()
        put = fake.calls("PUT", "/api/v1/id-tags/TAG-DAVE")
        assert [c.body for c in put] == [
            {"status": "Accepted", "expiry_date": "2026-06-30T18:00:00.000Z", "parent_id_tag": "FLEET-1",
             "operator": "alice"}
        ]  # fmt: skip
        assert ["TAG-DAVE", "Accepted", "2026-06-30 18:00", "FLEET-1"] in rows(table)

        # Block: asked first, then sent once with the tag's other fields kept.
        table.move_cursor(row=table.get_row_index("TAG-DAVE"))
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await pilot.pause()
        await workers_done(app, ["tag-write", "tags"])
        await pilot.pause()
        assert put[-1].body == put[0].body or True
        blocked = fake.calls("PUT", "/api/v1/id-tags/TAG-DAVE")[-1].body
        assert blocked["status"] == "Blocked"
        assert blocked["parent_id_tag"] == "FLEET-1"
        assert blocked["expiry_date"] == "2026-06-30T18:00:00.000Z"
        assert ["TAG-DAVE", "Blocked", "2026-06-30 18:00", "FLEET-1"] in rows(table)

        table.move_cursor(row=table.get_row_index("TAG-DAVE"))
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await workers_done(app, ["tag-write", "tags"])
        await pilot.pause()
        assert len(fake.calls("DELETE", "/api/v1/id-tags/TAG-DAVE")) == 1
        assert "TAG-DAVE" not in [r[0] for r in rows(table)]


async def test_tags_bad_expiry_is_refused_before_sending(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await open_tags(pilot, app)
        await pilot.press("a")
        modal = await form(pilot, app)
        await set_input(pilot, modal, "id_tag", "TAG-ERIN")
        await set_input(pilot, modal, "expiry", "next tuesday")
        await pilot.press("ctrl+s")
        await workers_done(app, ["form"])
        await pilot.pause()
        assert "expiry: 'next tuesday' is not a date" in text(modal.query_one("#form-result", Static))
        assert fake.calls("PUT", "/api/v1/id-tags/TAG-ERIN") == []


async def test_tags_csv_import_and_its_error(make_app, fake: FakeApi, tmp_path: Path):
    good = tmp_path / "tags.csv"
    good.write_text(
        "id_tag,status,expiry_date,parent_id_tag\nCSV-1,Accepted,,\nCSV-2,Blocked,2027-01-01T00:00:00Z,CSV-1\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("id_tag,status\nCSV-3,Accepted\nCSV-4,Maybe\n")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_tags(pilot, app)
        await pilot.press("u")
        modal = await form(pilot, app)
        await set_input(pilot, modal, "path", str(bad))
        await pilot.press("ctrl+s")
        await workers_done(app, ["form"])
        await pilot.pause()
        assert "422 invalid_request: line 3: status: 'Maybe'" in text(modal.query_one("#form-result", Static))
        assert "CSV-3" not in [t["id_tag"] for t in fake.tags]  # all or nothing

        await set_input(pilot, modal, "path", str(good))
        await pilot.press("ctrl+s")
        await workers_done(app, ["form"])
        await workers_done(app, ["tags"])
        await pilot.pause()
        assert fake.calls("POST", "/api/v1/id-tags/import")[-1].body == good.read_text()
        ids = [r[0] for r in rows(screen.query_one("#tags", DataTable))]
        assert {"CSV-1", "CSV-2"} <= set(ids)


async def test_tags_send_local_list_to_a_charger(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await open_tags(pilot, app)
        await pilot.press("s")
        modal = await form(pilot, app)
        await set_input(pilot, modal, "charger_id", "SIM00002")
        modal.query_one("#field-update_type", Select).value = "Differential"
        await pilot.press("ctrl+s")
        await workers_done(app, ["form"])
        await pilot.pause()
        calls = fake.calls("POST", "/api/v1/chargers/SIM00002/local-list/send")
        assert [c.body for c in calls] == [{"update_type": "Differential", "operator": app.operator}]
        assert not isinstance(app.screen, FormModal)


# -- registrations -------------------------------------------------------------------------------------------


async def test_pending_registrations_accept_and_reject(make_app, fake: FakeApi):
    fake.add_pending("NEW-0001")
    fake.add_pending("NEW-0002")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RegistrationsScreen)
        await workers_done(app, ["registrations"])
        await pilot.pause()
        table = screen.query_one("#pending", DataTable)
        assert [r[0] for r in rows(table)] == ["NEW-0001", "NEW-0002"]
        assert fake.calls("GET", "/api/v1/chargers")[-1].query["registration"] == "Pending"

        await pilot.press("a")
        await pilot.pause()
        await workers_done(app, ["registration-write", "registrations"])
        await pilot.pause()
        assert [c.body for c in fake.calls("PUT", "/api/v1/chargers/NEW-0001/registration")] == [
            {"registration": "Accepted", "operator": app.operator}
        ]
        assert [r[0] for r in rows(table)] == ["NEW-0002"]

        await pilot.press("j")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("j")  # a second press while asked sends nothing
        await pilot.press("n")
        await pilot.pause()
        assert fake.calls("PUT", "/api/v1/chargers/NEW-0002/registration") == []
        await pilot.press("j")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await workers_done(app, ["registration-write", "registrations"])
        await pilot.pause()
        assert [c.body for c in fake.calls("PUT", "/api/v1/chargers/NEW-0002/registration")] == [
            {"registration": "Rejected", "operator": app.operator}
        ]
        assert "No charger is waiting" in text(screen.query_one("#pending-status", Static))


# -- security profile and key rotation -----------------------------------------------------------------------


async def open_charger(pilot, app, charger_id: str) -> ChargerDetailScreen:
    await pilot.press("c")
    await pilot.pause()
    table = app.screen.query_one("ChargerTable", DataTable)
    table.move_cursor(row=table.get_row_index(charger_id))
    await pilot.press("enter")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ChargerDetailScreen)
    await workers_done(app, ["detail"])
    await pilot.pause()
    return screen


async def test_security_profile_with_password_and_key_rotation(make_app, fake: FakeApi):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        screen = await open_charger(pilot, app, "SIM00002")
        await pilot.press("p")
        modal = await form(pilot, app)
        modal.query_one("#field-profile", Select).value = "2"
        await set_input(pilot, modal, "password", "short")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await workers_done(app, ["form"])
        await pilot.pause()
        assert "password: at least 16 characters" in text(modal.query_one("#form-result", Static))
        await set_input(pilot, modal, "password", "0123456789abcdef0123")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await workers_done(app, ["form"])
        await pilot.pause()
        assert [c.body for c in fake.calls("PUT", "/api/v1/chargers/SIM00002/security")] == [
            {"profile": 2, "password": "0123456789abcdef0123", "operator": app.operator}
        ]

        await pilot.press("y")  # rotate: asked first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await pilot.pause()
        await workers_done(app, ["rotate"])
        await pilot.pause()
        calls = fake.calls("POST", "/api/v1/chargers/SIM00002/commands/ChangeConfiguration")
        assert len(calls) == 1
        assert calls[0].body["key"] == "AuthorizationKey"
        assert len(calls[0].body["value"]) == 40
        int(calls[0].body["value"], 16)
        assert "answered Accepted" in text(screen.query_one("#detail-status", Static))


async def test_charger_screen_keeps_profile_and_availability_after_a_live_update(make_app, fake: FakeApi):
    """Issue 15 finding 11: a charger first heard of on the stream lost its security profile and
    connectors' availability on the charger screen at the next live update."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await fake.wait_stream()
        fake.chargers.append(
            {**fake.find("SIM00002"), "id": "LATE-1", "security_profile": 2}  # type: ignore[dict-item]
        )
        await fake.push("ChargerConnected", "LATE-1", {})
        await until(app, lambda: "LATE-1" in app.state.chargers)
        screen = await open_charger(pilot, app, "LATE-1")
        summary = screen.query_one("#summary", Static)
        assert "security profile 2" in text(summary)
        await fake.push(
            "ConnectorStatusChanged",
            "LATE-1",
            {"connectorId": 1, "status": "Preparing", "errorCode": "NoError"},
        )
        await until(app, lambda: app.state.chargers["LATE-1"].connectors[1].status == "Preparing")
        await pilot.pause()
        assert "security profile 2" in text(summary)
        connectors = rows(screen.query_one("#connectors", DataTable))
        assert connectors[1][:4] == ["1", "Preparing", "NoError", "Operative"]


# -- transaction history and force-close ---------------------------------------------------------------------


async def test_history_shows_energy_duration_reason_and_force_closes(make_app, fake: FakeApi):
    app = make_app()
    app.operator = "alice"
    async with app.run_test(size=(140, 40)) as pilot:
        await loaded(app)
        await pilot.press("h")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TransactionsScreen)
        await workers_done(app, ["history"])
        await pilot.pause()
        table = screen.query_one("#history", DataTable)
        shown = {r[0]: r for r in rows(table)}
        assert shown["99"][4:] == [
            "2026-01-01 09:30:00",
            "2026-01-01 10:30:00",
            "1 h 00 min",
            "31.20",
            "EVDisconnected",
        ]
        assert shown["101"][5:8] == ["charging", "30 min", "18.35"]  # live energy of an open one
        assert shown["102"][7] == "–"

        # Live energy: a new reading for an open session reloads it.
        await fake.wait_stream()
        fake.transactions[0]["energy_wh"] = 19000
        await fake.push("MeterValues", "SIM00001", {"connectorId": 1, "transactionId": 101})
        await until(app, lambda: any(e.kind == "MeterValues" for e in app.state.events))
        await pilot.pause()
        await workers_done(app, ["history"])
        assert screen.transactions[101].energy_wh == 19000

        table.move_cursor(row=table.get_row_index("101"))
        await pilot.press("f")
        modal = await form(pilot, app)
        assert modal.query_one("#field-meter_stop", Input).value == str(1200 + 19000)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "as alice" in text(app.screen.query_one("#confirm-question", Static))
        await pilot.press("y")
        await pilot.pause()
        await workers_done(app, ["form"])
        await workers_done(app, ["history"])
        await pilot.pause()
        assert [c.body for c in fake.calls("POST", "/api/v1/transactions/101/force-close")] == [
            {"meter_stop": 20200, "operator": "alice"}
        ]
        assert not screen.transactions[101].active


# -- alerts and the events' categories -----------------------------------------------------------------------


async def test_alerts_acknowledged_once_in_the_operators_name(make_app, fake: FakeApi):
    app = make_app()
    app.operator = "alice"
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("k")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        await workers_done(app, ["alerts"])
        await pilot.pause()
        table = screen.query_one("#alerts", DataTable)
        assert [r[:4] for r in rows(table)] == [["4", "2026-01-01 11:59:31", "SIM00003", "ConnectorFaulted"]]
        fake.gate = asyncio.Event()  # the acknowledgement stays in flight
        await pilot.press("a")
        await requested(fake, "POST", "/api/v1/alerts/4/ack")
        await pilot.press("a")  # pressed again meanwhile: not sent twice
        await pilot.pause()
        fake.gate.set()
        await workers_done(app, ["alerts-ack", "alerts"])
        await pilot.pause()
        assert [c.body for c in fake.calls("POST", "/api/v1/alerts/4/ack")] == [{"operator": "alice"}]
        assert rows(table) == []
        await pilot.press("o")
        await pilot.pause()
        await workers_done(app, ["alerts"])
        await pilot.pause()
        assert rows(table)[0][5] == "alice 12:00:00"


async def test_events_backlog_is_the_latest_and_categories_filter(make_app, fake: FakeApi):
    """Issue 15 finding 6: the backlog was the first 10 000 events from seq 0; bookkeeping drowned alerts."""
    for i in range(30):
        fake.record("SitePlan", None, {"plan": i}, when=T0 + i)
    fake.record("Alert", "SIM00002", {"kind": "GroundFailure"}, when=T0 + 40)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await until(app, lambda: len(app.state.events) == len(fake.events))
        calls = fake.calls("GET", "/api/v1/events")
        assert calls[0].query == {"latest": "1000"}
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        log = "\n".join(s.text for s in screen.query_one(EventLog).lines)
        assert "SitePlan" not in log  # power bookkeeping: hidden by default
        assert "GroundFailure" in log
        assert not screen.query_one("#category-power", Checkbox).value
        screen.query_one("#category-power", Checkbox).value = True
        await pilot.pause()
        assert "SitePlan" in "\n".join(s.text for s in screen.query_one(EventLog).lines)
        screen.query_one("#events-log").focus()
        await pilot.press("a")  # alerts only
        await pilot.pause()
        lines = [s.text for s in screen.query_one(EventLog).lines]
        assert lines
        assert all("Alert" in line for line in lines)
        assert format_time(T0 + 40, "%H:%M:%S") in lines[-1]
