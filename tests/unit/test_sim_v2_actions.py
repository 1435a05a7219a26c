"""The CSMS-initiated OCPP 2.0.1 / 2.1 actions a simulated charger answers: each answer validated by the
version's codec (`v2_actions.answer` refuses to send one that is not), and the core set's behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from voltyard.ocpp.actions import ACTION_TABLES, Direction
from voltyard.ocpp.codec import load_codec
from voltyard.sim import behaviour, v2_actions
from voltyard.sim.charger import SimCharger
from voltyard.sim.context import FleetContext
from voltyard.sim.craft import payload_template
from voltyard.sim.link import ConnectOptions

VERSIONS = ("2.0.1", "2.1")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    try:
        yield running
    finally:
        running.close()


def _charger(loop: asyncio.AbstractEventLoop, version: str) -> SimCharger:
    ctx = FleetContext(loop, load_codec(), ConnectOptions("ws://127.0.0.1:9/ocpp"), {}, seed=1)
    return SimCharger(ctx, 0, "CP-ACT", 2, protocols=(version,))


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Run what the answers scheduled to happen after them."""
    loop.run_until_complete(asyncio.sleep(0.1))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_csms_action_of_the_table_gets_a_valid_answer(
    loop: asyncio.AbstractEventLoop, version: str
) -> None:
    actions = sorted(ACTION_TABLES[version].sent_by(Direction.CSMS))
    assert len(actions) >= 40
    codec = load_codec(version)
    for action in actions:
        charger = _charger(loop, version)
        answer = v2_actions.answer(charger, action, payload_template(version, action))
        codec.validate(action, answer, response=True)
    _settle(loop)  # what the answers scheduled (a reboot, a report, a triggered message) runs without error
    # A charger's own action is not one it answers.
    with pytest.raises(Exception, match="not an action an OCPP"):
        v2_actions.answer(_charger(loop, version), "BootNotification", {})


@pytest.mark.parametrize("version", VERSIONS)
def test_remote_start_and_stop_run_a_session(loop: asyncio.AbstractEventLoop, version: str) -> None:
    charger = _charger(loop, version)
    start = {"idToken": {"idToken": "REMOTE-1", "type": "Central"}, "remoteStartId": 42, "evseId": 2}
    assert v2_actions.answer(charger, "RequestStartTransaction", start) == {"status": "Accepted"}
    _settle(loop)
    session = charger.connectors[1].session
    assert session is not None
    assert isinstance(session.transaction_id, str)
    started = next(out.payload for out in charger.queue or () if out.action == "TransactionEvent")
    assert started["transactionInfo"]["remoteStartId"] == 42
    assert started["triggerReason"] == "RemoteStart"
    assert started["idToken"] == {"idToken": "REMOTE-1", "type": "Central"}
    # The EVSE is busy now.
    assert v2_actions.answer(charger, "RequestStartTransaction", start) == {"status": "Rejected"}
    assert v2_actions.answer(charger, "UnlockConnector", {"evseId": 2, "connectorId": 1}) == {
        "status": "OngoingAuthorizedTransaction"
    }
    assert v2_actions.answer(charger, "RequestStopTransaction", {"transactionId": "nope"}) == {
        "status": "Rejected"
    }
    stop = {"transactionId": session.transaction_id}
    assert v2_actions.answer(charger, "RequestStopTransaction", stop) == {"status": "Accepted"}
    _settle(loop)
    assert charger.connectors[1].session is None
    ended = [out.payload for out in charger.queue or () if out.action == "TransactionEvent"][-1]
    assert ended["eventType"] == "Ended"
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert ended["triggerReason"] == "RemoteStop"


@pytest.mark.parametrize("version", VERSIONS)
def test_charging_profiles_limit_and_compose(loop: asyncio.AbstractEventLoop, version: str) -> None:
    charger = _charger(loop, version)
    v2_actions.answer(
        charger,
        "RequestStartTransaction",
        {"idToken": {"idToken": "T", "type": "Central"}, "remoteStartId": 1},
    )
    _settle(loop)
    connector = charger.connectors[0]
    assert connector.session is not None
    profile = {
        "id": 5,
        "stackLevel": 1,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Absolute",
        "transactionId": connector.session.transaction_id,
        "chargingSchedule": [{
            "id": 1, "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0, "numberPhases": 3}],
        }],
    }  # fmt: skip
    set_profile = {"evseId": 1, "chargingProfile": profile}
    assert v2_actions.answer(charger, "SetChargingProfile", set_profile) == {"status": "Accepted"}
    _settle(loop)
    assert connector.limit_w == pytest.approx(10 * 230 * 3)
    composite = v2_actions.answer(charger, "GetCompositeSchedule", {"evseId": 1, "duration": 600})
    assert composite["status"] == "Accepted"
    assert composite["schedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 6900.0}]
    other = {**profile, "transactionId": "someone-else"}
    assert v2_actions.answer(charger, "SetChargingProfile", {"evseId": 1, "chargingProfile": other}) == {
        "status": "Rejected"
    }
    station_max = {**profile, "id": 9, "chargingProfilePurpose": "ChargingStationMaxProfile"}
    del station_max["transactionId"]
    assert v2_actions.answer(
        charger, "SetChargingProfile", {"evseId": 1, "chargingProfile": station_max}
    ) == {
        "status": "Rejected"  # a station maximum belongs to EVSE 0
    }
    clear = {"chargingProfileCriteria": {"evseId": 1, "chargingProfilePurpose": "TxProfile"}}
    assert v2_actions.answer(charger, "ClearChargingProfile", clear) == {"status": "Accepted"}
    _settle(loop)
    assert connector.limit_w is None
    assert v2_actions.answer(charger, "ClearChargingProfile", {"chargingProfileId": 5}) == {
        "status": "Unknown"
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_device_model_get_set_variables(loop: asyncio.AbstractEventLoop, version: str) -> None:
    charger = _charger(loop, version)
    get = {
        "getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"}},
            {"component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "Power"}},
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "NoSuchVariable"}},
            {"component": {"name": "NoSuchCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
        ]
    }
    results = v2_actions.answer(charger, "GetVariables", get)["getVariableResult"]
    assert [(r["attributeStatus"], r.get("attributeValue")) for r in results] == [
        ("Accepted", "300"), ("Accepted", "SimCharger"), ("Accepted", "22000"),
        ("UnknownVariable", None), ("UnknownComponent", None),
    ]  # fmt: skip
    set_data = {
        "setVariableData": [
            {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}
            for component, variable, value in (
                ("OCPPCommCtrlr", "HeartbeatInterval", "60"),
                ("SampledDataCtrlr", "TxUpdatedInterval", "x"),
                ("ChargingStation", "Model", "Other"),
            )
        ]
    }
    results = v2_actions.answer(charger, "SetVariables", set_data)["setVariableResult"]
    assert [r["attributeStatus"] for r in results] == ["Accepted", "Rejected", "Rejected"]
    assert charger.settings.integer("HeartbeatInterval") == 60
    _settle(loop)


@pytest.mark.parametrize("version", VERSIONS)
def test_availability_reset_and_unknown_evse(loop: asyncio.AbstractEventLoop, version: str) -> None:
    charger = _charger(loop, version)
    inoperative = {"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 1}}
    assert v2_actions.answer(charger, "ChangeAvailability", inoperative) == {"status": "Accepted"}
    assert charger.connectors[0].status == "Unavailable"
    assert charger.connectors[1].status == "Available"
    assert v2_actions.answer(charger, "ChangeAvailability", {"operationalStatus": "Operative"}) == {
        "status": "Accepted"
    }
    assert charger.connectors[0].status == "Available"
    missing = {"operationalStatus": "Inoperative", "evse": {"id": 9}}
    assert v2_actions.answer(charger, "ChangeAvailability", missing) == {"status": "Rejected"}
    assert v2_actions.answer(charger, "Reset", {"type": "Immediate", "evseId": 1}) == {"status": "Rejected"}
    assert v2_actions.answer(charger, "Reset", {"type": "Immediate"}) == {"status": "Accepted"}
    trigger = {"requestedMessage": "SignV2GCertificate"}
    assert v2_actions.answer(charger, "TriggerMessage", trigger) == {"status": "NotImplemented"}
    assert v2_actions.answer(charger, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {
        "status": "Accepted"
    }
    _settle(loop)
    assert charger.needs_boot  # the reset: it boots again when it is back, saying why
    boot = behaviour.boot_payload(charger)
    assert boot["reason"] == "RemoteReset"
    load_codec(version).validate("BootNotification", boot)
