"""The gateway over real sockets with a raw websocket client: handshake, replacement, bad frames, stops."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing

import pytest
import websockets
from voltyard.errors import CommandTimeoutError
from voltyard.runtime import Appliance
from voltyard.store.meter_log import meter_readings

from tests.e2e.peer import open_websocket

NOW = "2026-11-25T10:00:00Z"


async def rpc(ws, message_id: str, action: str, payload: object) -> list:
    await ws.send(json.dumps([2, message_id, action, payload]))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def booted(port: int, charger_id: str):
    ws = await open_websocket(port, charger_id)
    answer = await rpc(ws, "boot", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    assert answer[2]["status"] == "Accepted"
    return ws


async def test_handshake_without_an_ocpp_version_is_refused(appliance) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_websocket(appliance.ocpp_port, "CP1", subprotocols=["ocpp2.0"])
    assert refused.value.response.status_code == 400
    assert b"ocpp1.6" in refused.value.response.body


@pytest.mark.parametrize("charger_id", ["bad%20id", "x" * 49, "semi%3Bcolon"])
async def test_handshake_with_bad_charger_id_is_refused(appliance, charger_id: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_websocket(appliance.ocpp_port, charger_id)
    assert refused.value.response.status_code == 404


async def test_subprotocol_is_negotiated_and_both_paths_work(appliance) -> None:
    ws = await open_websocket(appliance.ocpp_port, "CP-PATH")
    assert ws.subprotocol == "ocpp1.6"
    await ws.close()
    async with websockets.connect(
        f"ws://127.0.0.1:{appliance.ocpp_port}/CP-SHORT", subprotocols=["ocpp1.6"]
    ) as ws:
        answer = await rpc(ws, "1", "Heartbeat", {})
        assert answer[0] == 3


async def test_new_connection_replaces_old_and_late_close_keeps_new(appliance) -> None:
    old = await booted(appliance.ocpp_port, "CP-DUP")
    new = await booted(appliance.ocpp_port, "CP-DUP")
    await asyncio.wait_for(old.wait_closed(), 5)
    await asyncio.sleep(0.05)  # let the old socket's disconnect callback run
    assert appliance.registry.get("CP-DUP") is not None
    assert (await rpc(new, "2", "Heartbeat", {}))[0] == 3
    await new.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('[2,"m1","Heartbeat",{"extra":1}]', "FormationViolation"),
        ('[2,"m1","NoSuchAction",{}]', "NotImplemented"),
        ('[2,"m1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Dancing"}]', None),
        ('[2,"m1","StartTransaction",{"connectorId":1}]', None),
    ],
)
async def test_bad_call_gets_callerror_and_connection_keeps_serving(
    appliance, frame: str, code: str | None
) -> None:
    ws = await booted(appliance.ocpp_port, "CP-BAD")
    await ws.send(frame)
    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert answer[0] == 4
    assert answer[1] == "m1"
    if code is not None:
        assert answer[2] == code
    assert (await rpc(ws, "after", "Heartbeat", {}))[0] == 3
    await ws.close()


async def test_unreadable_frames_are_dropped_without_killing_the_session(appliance) -> None:
    ws = await booted(appliance.ocpp_port, "CP-GARBAGE")
    for junk in ("not json", '[5,"x",{}]', "{}", "[2]"):
        await ws.send(junk)
    assert (await rpc(ws, "still", "Heartbeat", {}))[0] == 3
    await ws.close()
    assert appliance.gateway.dispatcher.refused_frames == 4


async def test_start_replay_returns_same_id_and_stops_are_always_answered(appliance) -> None:
    ws = await booted(appliance.ocpp_port, "CP-TX")
    start = {"connectorId": 1, "idTag": "T", "meterStart": 10, "timestamp": NOW}
    first = await rpc(ws, "s1", "StartTransaction", start)
    replay = await rpc(ws, "s2", "StartTransaction", start)
    tx = first[2]["transactionId"]
    assert replay[2]["transactionId"] == tx
    stop = {"transactionId": tx, "meterStop": 500, "timestamp": NOW}
    for message_id in ("t1", "t2"):
        assert (await rpc(ws, message_id, "StopTransaction", stop))[0] == 3
    other = {"transactionId": tx, "meterStop": 900, "timestamp": "2026-11-25T11:00:00Z"}
    assert (await rpc(ws, "t3", "StopTransaction", other))[0] == 3
    unknown = {"transactionId": 999_999, "meterStop": 1, "timestamp": NOW}
    assert (await rpc(ws, "t4", "StopTransaction", unknown))[0] == 3
    await ws.close()
    with closing(appliance.read_connection()) as db:  # answered = already on disk, no flush needed
        flags = [row[0] for row in db.execute("SELECT flag FROM stop_records ORDER BY id")]
        assert flags == ["Stopped", "Duplicate", "AlreadyStopped", "Unknown"]
        assert db.execute("SELECT meter_stop FROM transactions WHERE id = ?", (tx,)).fetchone() == (500,)
        assert db.execute("SELECT count(*) FROM transactions").fetchone() == (1,)


async def test_meter_values_are_normalised(appliance) -> None:
    ws = await booted(appliance.ocpp_port, "CP-METER")
    sampled = [
        {"value": "12.5", "unit": "kWh"},
        {"value": "7.2", "unit": "kW", "measurand": "Power.Active.Import"},
        {"value": "2400", "unit": "W", "measurand": "Power.Active.Import", "phase": "L1"},
    ]
    payload = {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": sampled}]}
    assert (await rpc(ws, "m", "MeterValues", payload))[0] == 3
    await ws.close()
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        (reading,) = meter_readings(db)
    assert (reading.energy_wh, reading.power_w, reading.transaction_id) == (12500.0, 7200.0, None)
    assert json.loads(reading.sampled_value) == sampled


async def test_timed_out_call_fails_and_late_answer_is_discarded(appliance) -> None:
    ws = await booted(appliance.ocpp_port, "CP-SLOW")
    with pytest.raises(CommandTimeoutError):
        await appliance.commands.call("CP-SLOW", "ClearCache", {}, timeout=0.3)
    request = json.loads(await ws.recv())
    await ws.send(json.dumps([3, request[1], {"status": "Accepted"}]))  # too late
    assert (await rpc(ws, "hb", "Heartbeat", {}))[0] == 3
    # The next call gets its own answer, not the late one.
    call = asyncio.ensure_future(appliance.commands.call("CP-SLOW", "ClearCache", {}, timeout=5))
    request = json.loads(await ws.recv())
    await ws.send(json.dumps([3, request[1], {"status": "Rejected"}]))
    assert (await call) == {"status": "Rejected"}
    await ws.close()


async def test_unknown_charger_policy_reject(appliance_config) -> None:
    running = Appliance(appliance_config(ocpp={"unknown_charger": "reject"}))
    await running.start()
    try:
        # An unknown id is refused at the handshake and leaves nothing behind (issue 17, finding 7).
        with pytest.raises(websockets.InvalidStatus) as stranger:
            await open_websocket(running.ocpp_port, "CP-STRANGER")
        assert stranger.value.response.status_code == 404
        assert "CP-STRANGER" not in running.services.chargers.records
        # One the operator rejected is known: it connects, and is told Rejected.
        running.services.chargers.set_registration("CP-REJECTED", "Rejected")
        ws = await open_websocket(running.ocpp_port, "CP-REJECTED")
        answer = await rpc(ws, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
        assert answer[2]["status"] == "Rejected"
        refused = await rpc(ws, "h", "Heartbeat", {})
        assert refused[0] == 4
        assert refused[2] == "SecurityError"
        await ws.close()
    finally:
        await running.stop()


async def test_status_history_records_changes_and_the_connector_its_latest_state(appliance) -> None:
    ws = await booted(appliance.ocpp_port, "CP-HIST")
    statuses = [("Available", "NoError"), ("Available", "NoError"), ("Faulted", "GroundFailure"),
                ("Faulted", "GroundFailure"), ("Available", "NoError")]  # fmt: skip
    for n, (status, error_code) in enumerate(statuses):
        payload = {"connectorId": 1, "status": status, "errorCode": error_code, "timestamp": NOW}
        answer = await rpc(ws, f"s{n}", "StatusNotification", payload)
        while answer[0] == 2:  # a fault response of the central system's own (a CALL to us): not ours
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert answer[:2] == [3, f"s{n}"]
    await ws.close()
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        history = db.execute(
            "SELECT status, error_code FROM status_history WHERE charger_id = 'CP-HIST' ORDER BY id"
        ).fetchall()
        current = db.execute(
            "SELECT status, error_code FROM connectors WHERE charger_id = 'CP-HIST' AND connector_id = 1"
        ).fetchall()
    assert history == [("Available", "NoError"), ("Faulted", "GroundFailure"), ("Available", "NoError")]
    assert current == [("Available", "NoError")]


async def test_meter_values_without_a_usable_reading_get_a_callerror(appliance) -> None:
    ws = await booted(appliance.ocpp_port, "CP-HUGE")
    payload = {"connectorId": 2**63, "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": "1"}]}]}
    answer = await rpc(ws, "m", "MeterValues", payload)
    assert answer[:3] == [4, "m", "PropertyConstraintViolation"]
    assert (await rpc(ws, "hb", "Heartbeat", {}))[0] == 3  # the connection keeps serving
    await ws.close()


@pytest.mark.parametrize(
    ("action", "payload", "allowed"),
    [
        ("StatusNotification", {"connectorId": -178, "status": "Faulted", "errorCode": "GroundFailure",
                                "timestamp": NOW}, "0 (the charge point) or a connector from 1"),
        ("MeterValues", {"connectorId": -1, "meterValue": [{"timestamp": NOW,
                                                            "sampledValue": [{"value": "1"}]}]},
         "0 (the charge point) or a connector from 1"),
        ("StartTransaction", {"connectorId": -2, "idTag": "TAG", "meterStart": 0, "timestamp": NOW},
         "a connector from 1"),
        ("StartTransaction", {"connectorId": 0, "idTag": "TAG", "meterStart": 0, "timestamp": NOW},
         "a connector from 1"),
    ],
)  # fmt: skip
async def test_a_connector_id_that_names_no_connector_is_refused_and_nothing_stored(
    appliance, action: str, payload: dict, allowed: str
) -> None:
    ws = await booted(appliance.ocpp_port, "CP-NEG")
    answer = await rpc(ws, "x", action, payload)
    assert answer[:3] == [4, "x", "PropertyConstraintViolation"]
    assert answer[3] == f"/connectorId: {payload['connectorId']} is not {allowed}"
    # A Faulted connector once drew an automatic ChangeAvailability naming it: the next frame is our answer.
    assert (await rpc(ws, "hb", "Heartbeat", {}))[:2] == [3, "hb"]
    await ws.close()
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        connectors = db.execute("SELECT connector_id FROM connectors WHERE charger_id = 'CP-NEG'").fetchall()
        transactions = db.execute("SELECT id FROM transactions WHERE charger_id = 'CP-NEG'").fetchall()
        readings = meter_readings(db, charger_id="CP-NEG")
    assert connectors == []
    assert transactions == []
    assert readings == []


def _status_2x(evse_id: int, connector_id: int) -> dict:
    return {"timestamp": NOW, "connectorStatus": "Faulted", "evseId": evse_id, "connectorId": connector_id}


def _started_2x(evse: dict) -> dict:
    return {"eventType": "Started", "timestamp": NOW, "triggerReason": "Authorized", "seqNo": 0,
            "transactionInfo": {"transactionId": "TX-NEG"}, "evse": evse}  # fmt: skip


@pytest.mark.parametrize(
    ("action", "payload", "refusal"),
    [
        ("StatusNotification", _status_2x(-3, 1), "/evseId: -3 is not an EVSE from 1"),
        ("StatusNotification", _status_2x(1, 0), "/connectorId: 0 is not a connector from 1"),
        ("TransactionEvent", _started_2x({"id": -1}), "/evse/id: -1 is not an EVSE from 1"),
        ("TransactionEvent", _started_2x({"id": 1, "connectorId": -7}),
         "/evse/connectorId: -7 is not a connector from 1"),
        ("MeterValues", {"evseId": -1, "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": 1.0}]}]},
         "/evseId: -1 is not 0 (the charging station) or an EVSE from 1"),
    ],
)  # fmt: skip
async def test_a_2x_evse_or_connector_id_that_names_none_is_refused_and_nothing_stored(
    appliance, action: str, payload: dict, refusal: str
) -> None:
    ws = await open_websocket(appliance.ocpp_port, "CS-NEG", ["ocpp2.0.1"])
    station = {"model": "M", "vendorName": "V"}
    boot = await rpc(ws, "boot", "BootNotification", {"chargingStation": station, "reason": "PowerUp"})
    assert boot[2]["status"] == "Accepted"
    answer = await rpc(ws, "x", action, payload)
    assert answer[:3] == [4, "x", "PropertyConstraintViolation"]
    assert answer[3] == refusal
    assert (await rpc(ws, "hb", "Heartbeat", {}))[:2] == [3, "hb"]
    await ws.close()
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        connectors = db.execute("SELECT connector_id FROM connectors WHERE charger_id = 'CS-NEG'").fetchall()
        transactions = db.execute("SELECT id FROM transactions WHERE charger_id = 'CS-NEG'").fetchall()
        readings = meter_readings(db, charger_id="CS-NEG")
    assert connectors == []
    assert transactions == []
    assert readings == []
