"""The OCPP 2.0.1 / 2.1 messages a simulated charger builds: every frame validated by its version's codec.

A real charger (its context, connectors, settings and queue) that is not connected: what it would send
while offline stays queued (transaction messages) and is read from the queue; the other messages are
built by the functions the charger uses and validated the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from voltyard.errors import ConfigError
from voltyard.ocpp.codec import load_codec
from voltyard.sim import behaviour, v2_messages
from voltyard.sim.charger import SimCharger
from voltyard.sim.context import FleetContext
from voltyard.sim.fleet import Fleet, FleetShape
from voltyard.sim.link import ConnectOptions
from voltyard.sim.protocols import assign, parse_protocol
from voltyard.sim.templates import TemplateError, load_template

VERSIONS = ("2.0.1", "2.1")
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    try:
        yield running
    finally:
        running.close()


def _charger(loop: asyncio.AbstractEventLoop, version: str, connectors: int = 2) -> SimCharger:
    ctx = FleetContext(
        loop, load_codec(), ConnectOptions("ws://127.0.0.1:9/ocpp"), {"MeterValueSampleInterval": "5"}, seed=1
    )
    return SimCharger(ctx, 0, "CP-V2", connectors, protocols=(version,))


@pytest.mark.parametrize("version", VERSIONS)
def test_boot_heartbeat_status_and_authorize_validate(loop: asyncio.AbstractEventLoop, version: str) -> None:
    codec = load_codec(version)
    charger = _charger(loop, version)
    assert charger.v2
    assert charger.codec.version == version
    boot = behaviour.boot_payload(charger)
    assert boot == {
        "chargingStation": {
            "model": "SimCharger", "vendorName": "Voltyard", "serialNumber": "CP-V2",
            "firmwareVersion": "sim-1.0",
        },
        "reason": "PowerUp",
    }  # fmt: skip
    codec.validate("BootNotification", boot)
    template = load_template(CONFIGS / "sim-ac22.toml")
    with_modem = v2_messages.boot(template, "AC00001")
    assert with_modem["chargingStation"]["modem"] == {"iccid": template.iccid, "imsi": template.imsi}
    codec.validate("BootNotification", with_modem)
    codec.validate("Heartbeat", {})
    connector = charger.connectors[0]
    statuses = []
    for step in (connector.plug, connector.unplug, lambda: connector.fault("GroundFailure")):
        step()
        payload = v2_messages.status_notification(connector)
        codec.validate("StatusNotification", payload)
        statuses.append(payload["connectorStatus"])
    assert statuses == ["Occupied", "Available", "Faulted"]
    assert payload["evseId"] == 1
    assert payload["connectorId"] == 1
    authorize = {"idToken": v2_messages.id_token("TAG-1")}
    codec.validate("Authorize", authorize)
    assert authorize == {"idToken": {"idToken": "TAG-1", "type": "ISO14443"}}
    codec.validate("MeterValues", v2_messages.meter_values(connector, "Trigger"))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_session_is_started_updated_and_ended_with_rising_seq_no(
    loop: asyncio.AbstractEventLoop, version: str
) -> None:
    codec = load_codec(version)
    charger = _charger(loop, version)
    connector = charger.connectors[1]
    assert behaviour.begin_session(charger, connector, "TAG-2", None)
    connector.meter_wh = 1234.5  # energy drawn since: the Ended event carries the register
    behaviour._sample(charger)
    assert behaviour.end_session(charger, connector, "EVDisconnected")
    queued = [out for out in charger.queue or () if out.action == "TransactionEvent"]
    events = [out.payload for out in queued]
    assert [event["eventType"] for event in events] == ["Started", "Updated", "Ended"]
    assert [event["seqNo"] for event in events] == [0, 1, 2]
    ids = {event["transactionInfo"]["transactionId"] for event in events}
    assert len(ids) == 1
    assert isinstance(next(iter(ids)), str)
    started, updated, ended = events
    assert started["idToken"] == {"idToken": "TAG-2", "type": "ISO14443"}
    assert started["evse"] == {"id": 2, "connectorId": 1}
    assert started["triggerReason"] == "Authorized"
    assert updated["triggerReason"] == "MeterValuePeriodic"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert ended["triggerReason"] == "EVCommunicationLost"
    sampled = ended["meterValue"][0]["sampledValue"]
    energy = next(value for value in sampled if value["measurand"] == "Energy.Active.Import.Register")
    assert energy == {
        "value": 1234.5, "context": "Transaction.End", "measurand": "Energy.Active.Import.Register",
        "unitOfMeasure": {"unit": "Wh"},
    }  # fmt: skip
    # Made while the charger was offline: each says so, and all stay queued for the replay in seqNo order.
    assert all(event["offline"] is True for event in events)
    assert all(out.session is not None for out in queued)
    for event in events:
        codec.validate("TransactionEvent", event)
    # The charger's own ids: a second session gets another.
    assert behaviour.begin_session(charger, connector, "TAG-2", None)
    assert connector.session is not None
    assert connector.session.transaction_id not in ids


@pytest.mark.parametrize("reason", ["Local", "Remote", "Other", "PowerLoss", "HardReset", "SoftReset",
                                    "ImmediateReset", "Reboot", "UnlockCommand", "DeAuthorized"])  # fmt: skip
@pytest.mark.parametrize("version", VERSIONS)
def test_every_stop_reason_is_a_valid_ended_event(
    loop: asyncio.AbstractEventLoop, version: str, reason: str
) -> None:
    charger = _charger(loop, version, connectors=1)
    connector = charger.connectors[0]
    behaviour.begin_session(charger, connector, "T", None, remote_start_id=7, token_type="Central")
    behaviour.end_session(charger, connector, reason)
    started, ended = (out.payload for out in charger.queue or ())
    assert started["transactionInfo"]["remoteStartId"] == 7
    assert started["triggerReason"] == "RemoteStart"
    assert started["idToken"]["type"] == "Central"
    load_codec(version).validate("TransactionEvent", started)
    load_codec(version).validate("TransactionEvent", ended)


def test_the_1_6_charger_is_unchanged(loop: asyncio.AbstractEventLoop) -> None:
    charger = _charger(loop, "1.6")
    assert not charger.v2
    assert behaviour.boot_payload(charger)["chargePointVendor"] == "Voltyard"
    connector = charger.connectors[0]
    behaviour.begin_session(charger, connector, "T", None)
    assert [out.action for out in charger.queue or ()] == ["StartTransaction"]


def test_protocol_option_and_mix() -> None:
    assert parse_protocol("2.1") == (("2.1", 1),)
    mix = parse_protocol("1.6:50,2.0.1:30,2.1:20")
    versions = assign(mix, 10)
    assert [versions.count(v) for v in ("1.6", "2.0.1", "2.1")] == [5, 3, 2]
    assert versions[:3] == ["1.6", "2.0.1", "2.1"]  # spread over the fleet, not in blocks
    for bad, words in (
        ("2.0", "unknown OCPP version '2.0'"),
        ("1.6:0", "the share of 1.6 must be a whole number above 0, got '0'"),
        ("1.6:50,2.1", "a mix gives every version a share"),
        ("2.1,2.1", "2.1 is given twice"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_protocol(bad)


def test_fleet_versions_from_the_option_or_the_templates(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    ctx = FleetContext(loop, load_codec(), ConnectOptions("ws://127.0.0.1:9/ocpp"), {}, seed=1)
    fleet = Fleet(ctx, FleetShape(4, protocol=parse_protocol("2.0.1:1,2.1:1")), None)
    assert [charger.version for charger in fleet.chargers] == ["2.0.1", "2.1", "2.0.1", "2.1"]
    station = tmp_path / "st.toml"
    station.write_text('[template]\nprotocol = ["2.1", "1.6"]\n[identity]\nvendor = "V"\nmodel = "M"\n')
    template = load_template(station)
    assert template.protocols == ("2.1", "1.6")
    fleet = Fleet(ctx, FleetShape(1, stations=(("T", template),)), None)
    assert fleet.chargers[0].protocols == ("2.1", "1.6")
    station.write_text('[template]\nprotocol = "3.0"\n[identity]\nvendor = "V"\nmodel = "M"\n')
    with pytest.raises(TemplateError, match=r"st.toml: \[template\] protocol: unknown OCPP version '3.0'"):
        load_template(station)
