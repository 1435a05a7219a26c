"""Folding live events into the console's state."""

from __future__ import annotations

from fake_api import T0, UPLINK_OFF, site_data, uplink_data
from rich.text import Text

from voltyard_tui.models import Charger, Event, Health, Site, Uplink, UplinkPoint, format_age
from voltyard_tui.state import SiteState
from voltyard_tui.widgets.uplink import point_text, uplink_text


def state() -> SiteState:
    s = SiteState()
    s.load_chargers(Charger.from_json(c) for c in site_data()["chargers"])
    return s


def test_counts_put_faulted_before_online():
    assert state().counts() == {"online": 4, "offline": 1, "faulted": 1}


def test_status_change_updates_one_connector_and_names_the_charger():
    s = state()
    data = {"connectorId": 2, "status": "Faulted", "errorCode": "GroundFailure"}
    changed = s.apply(Event("ConnectorStatusChanged", "SIM00002", T0, data))
    assert changed == "SIM00002"
    connectors = s.chargers["SIM00002"].connectors
    assert [(c.connector_id, c.status, c.error_code) for c in connectors] == [
        (0, "Available", "NoError"),
        (1, "Available", "NoError"),
        (2, "Faulted", "GroundFailure"),
    ]
    assert connectors[2].availability == "Operative"  # kept from the snapshot
    assert s.counts()["faulted"] == 2


def test_connect_disconnect_boot_and_unknown_chargers():
    s = state()
    assert s.apply(Event("ChargerDisconnected", "SIM00001", T0)) == "SIM00001"
    assert not s.chargers["SIM00001"].online
    assert s.apply(Event("ChargerConnected", "SIM00001", T0 + 1)) == "SIM00001"
    assert s.chargers["SIM00001"].online
    assert s.chargers["SIM00001"].last_seen == T0 + 1
    boot = {
        "status": "Accepted",
        "chargePointVendor": "Acme",
        "chargePointModel": "X1",
        "firmwareVersion": "9",
    }
    s.apply(Event("ChargerBooted", "SIM00004", T0, boot))
    booted = s.chargers["SIM00004"]
    assert (booted.online, booted.vendor, booted.model, booted.firmware_version) == (True, "Acme", "X1", "9")
    assert (
        s.apply(Event("ConnectorStatusChanged", "GHOST", T0, {"connectorId": 1, "status": "Available"}))
        is None
    )
    assert "GHOST" not in s.chargers
    assert s.apply(Event("ChargerConnected", "NEW1", T0)) == "NEW1"
    assert s.chargers["NEW1"].online


def test_site_events_and_meter_values_do_not_touch_rows():
    s = state()
    s.update_health(
        Health.from_json({"site": {"limit_kw": 100, "power_kw": 10}}), Site(100.0, 12.0, 2.0, 10.0)
    )
    assert list(s.power_history) == [12.0]
    assert s.apply(Event("SiteLimitChanged", None, T0, {"limitKw": 80.0, "previousKw": 100.0})) is None
    assert s.limit_kw == 80.0
    assert s.apply(Event("MeterValues", "SIM00001", T0, {"connectorId": 1, "powerW": 7400})) is None
    assert s.charger_power_kw("SIM00001") == 7.4
    assert len(s.events) == 2


def test_an_alert_is_not_pushed_out_by_bookkeeping():
    """Issue 15 finding 6: ten plans a second pushed alerts out of the console's memory."""
    s = SiteState()
    s.apply(Event("Alert", "SIM00003", T0, {"kind": "GroundFailure"}, category="alert"))
    for i in range(5000):
        s.apply(Event("PlanComputed", None, T0 + i / 10, {}, category="power"))
        s.apply(Event("MeterValues", "SIM00001", T0 + i / 10, {}, category="transaction"))
    assert [e.kind for e in s.events_of(("alert",))] == ["Alert"]
    assert len(s.events_of(("power",))) == 1000
    assert [e.kind for e in s.events_of(("alert", "charger", "transaction"))] == ["Alert"]
    assert len(s.events_of(("transaction",), chatty=True)) == 1000  # the meter readings, kept apart


def test_health_parses_the_uplink_typed():
    """The uplink member of /health (docs/uplink.md) as the fake serves it: typed, times as unix seconds."""
    health = Health.from_json({"uplink": uplink_data()})
    uplink = health.uplink
    assert (uplink.enabled, uplink.state, uplink.queued) == (True, "partial", 3)
    assert uplink.url == "ws://csms.example.com:9000/ocpp/site-7"
    assert uplink.last_sync == T0 - 12
    assert sorted(uplink.charge_points) == ["SIM00001", "SIM00002", "SIM00003", "SIM00005"]
    assert uplink.charge_points["SIM00005"] == UplinkPoint("pending", "boot Rejected", 3, None)
    assert uplink.charge_points["SIM00003"] == UplinkPoint("online", None, 0, T0 - 40)
    assert uplink.online_points == 3


def test_health_without_an_uplink_member_is_an_uplink_that_is_off():
    """An appliance older than the uplink sends no member: the console says off, not a crash."""
    assert Health.from_json({}).uplink == Uplink()
    assert Health.from_json({"uplink": UPLINK_OFF}).uplink == Uplink(False, None, "off", 0, None, {})
    assert not Uplink().enabled


def test_an_age_reads_as_a_person_says_it():
    assert format_age(T0 - 12.7, T0) == "12 s ago"
    assert format_age(T0 - 125, T0) == "2 min ago"
    assert format_age(T0 - 7300, T0) == "2 h ago"
    assert format_age(T0 - 3 * 86400, T0) == "3 d ago"
    assert format_age(T0 + 2, T0) == "just now"  # the appliance's clock a little ahead of the console's
    assert format_age(None, T0) == "never"


def _style_of(line: Text, word: str) -> str:
    return next(str(s.style) for s in line.spans if line.plain[s.start : s.end] == word)


def test_the_uplinks_state_takes_its_colour():
    """Online green, partial/connecting/pending yellow, offline red: dashboard and charger screen alike."""
    for state, colour in (("online", "green"), ("partial", "yellow"), ("offline", "red")):
        uplink = Uplink(True, "ws://csms/ocpp", state, 0, T0 - 12, {})
        line = uplink_text(uplink, T0)
        assert _style_of(line, state) == f"bold {colour}"
    for state, colour in (
        ("online", "green"),
        ("connecting", "yellow"),
        ("pending", "yellow"),
        ("offline", "red"),
    ):
        line = point_text(UplinkPoint(state, None, 0, None), T0)
        assert _style_of(line, state) == f"bold {colour}"
    assert uplink_text(Uplink(), T0).plain == "Uplink off"
    assert point_text(UplinkPoint("offline", "connect timed out", 4, T0 - 90), T0).plain == (
        "uplink offline (connect timed out) · queued 4 · last sync 1 min ago"
    )
