"""End to end: the `ocpp` library's v201 and v21 ChargePoints as independent chargers, over real sockets.

The version is negotiated at the handshake; the charger's calls are answered with payloads that pass the
library's own validation (`ChargePoint.call` validates every answer), and a CSMS-initiated call sent through
`commands.call` reaches the library's charge point and comes back with its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import closing
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from voltyard.errors import ChargerOfflineError, InvalidCommandError
from voltyard.ocpp.actions import ACTION_TABLES, Direction
from voltyard.ocpp.codec import load_codec
from voltyard.ocpp.v201.minimal import minimal_answer
from voltyard.runtime import Appliance
from voltyard.store import device_model
from voltyard.store.message_log import MessageLog
from voltyard.store.meter_log import meter_readings

from tests.e2e.peer import open_websocket

NOW = "2026-11-25T10:00:00Z"
STATION = {"model": "M201", "vendorName": "V201", "serialNumber": "S-1", "firmwareVersion": "1.0"}


class Peer201(ChargePoint201):  # type: ignore[misc]
    """A 2.0.1 charge point that answers GetVariables and Reset, and records what it got."""

    def __init__(self, charger_id: str, connection: Any) -> None:
        super().__init__(charger_id, connection, response_timeout=10)
        self.received: list[str] = []

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self.received.append("GetVariables")
        results = [
            {
                "attributeStatus": "Accepted",
                "attributeValue": "300",
                "component": item["component"],
                "variable": item["variable"],
            }
            for item in get_variable_data
        ]
        return result201.GetVariables(get_variable_result=results)

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self.received.append("SetVariables")
        results = [
            {"attributeStatus": "Accepted", "component": item["component"], "variable": item["variable"]}
            for item in set_variable_data
        ]
        return result201.SetVariables(set_variable_result=results)

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> Any:
        self.received.append(f"Reset:{type}")
        return result201.Reset(status="Accepted")


@contextlib.asynccontextmanager
async def peer_201(
    port: int, charger_id: str, subprotocols: list[str] | None = None, *, boot: bool = True
) -> AsyncIterator[Peer201]:
    websocket = await open_websocket(port, charger_id, subprotocols or ["ocpp2.0.1"])
    peer = Peer201(charger_id, websocket)
    runner = asyncio.create_task(peer.start())
    try:
        if boot:
            answer = await peer.call(call201.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert answer.status == "Accepted"
        yield peer
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await runner
        await websocket.close()


def logged(appliance: Any, charger_id: str, action: str) -> list[tuple[str, int | None]]:
    with closing(appliance.read_connection()) as db:
        return [
            (exchange.direction, exchange.reply_type)
            for exchange in MessageLog.query(db, charger_id=charger_id, action=action)
        ]


# --- negotiation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["ocpp2.0.1"], "ocpp2.0.1"),
        (["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1"),
        (["ocpp2.0.1", "ocpp1.6"], "ocpp2.0.1"),
        (["ocpp1.6", "ocpp2.0.1", "ocpp2.1"], "ocpp2.1"),
        (["ocpp1.6"], "ocpp1.6"),
    ],
)
async def test_the_highest_offered_version_is_chosen(appliance, offered: list[str], chosen: str) -> None:
    websocket = await open_websocket(appliance.ocpp_port, "CP-NEG", offered)
    try:
        assert websocket.subprotocol == chosen
    finally:
        await websocket.close()


async def test_configuration_limits_the_versions(appliance_config) -> None:
    running = Appliance(appliance_config(ocpp={"versions": ["1.6"]}))
    await running.start()
    try:
        websocket = await open_websocket(running.ocpp_port, "CP-LIM", ["ocpp1.6", "ocpp2.0.1"])
        assert websocket.subprotocol == "ocpp1.6"
        await websocket.close()
        with pytest.raises(websockets.InvalidStatus) as refused:
            await open_websocket(running.ocpp_port, "CP-LIM2", ["ocpp2.0.1", "ocpp2.1"])
        assert refused.value.response.status_code == 400
        assert b"ocpp1.6" in refused.value.response.body
        assert b"ocpp2.0.1, ocpp2.1" in refused.value.response.body
    finally:
        await running.stop()


async def test_nothing_acceptable_is_refused_at_the_handshake(appliance) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_websocket(appliance.ocpp_port, "CP-NONE", ["ocpp1.5", "ocpp2.0"])
    assert refused.value.response.status_code == 400
    assert b"ocpp1.6, ocpp2.0.1, ocpp2.1" in refused.value.response.body


# --- the action tables --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_action_table_equals_the_codec_schema_set(version: str) -> None:
    assert set(ACTION_TABLES[version].directions) == set(load_codec(version).actions)


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_every_charger_action_is_handled(appliance, version: str) -> None:
    router = appliance.gateway.dispatcher.lanes[version][1]
    assert set(router) == ACTION_TABLES[version].sent_by(Direction.CHARGER)


@pytest.mark.parametrize(
    ("version", "action"),
    [
        (version, action)
        for version in ("2.0.1", "2.1")
        for action in sorted(ACTION_TABLES[version].sent_by(Direction.CHARGER))
        if action != "NotifyPeriodicEventStream"  # a SEND: no answer
    ],
)
def test_minimal_answers_are_schema_valid(version: str, action: str) -> None:
    load_codec(version).validate(action, minimal_answer(version, action), response=True)


# --- a 2.0.1 charger's day ------------------------------------------------------------------------------


async def test_boot_heartbeat_status_authorize(appliance) -> None:
    async with peer_201(appliance.ocpp_port, "CP-201") as peer:
        beat = await peer.call(call201.Heartbeat())
        assert beat.current_time
        await peer.call(
            call201.StatusNotification(timestamp=NOW, connector_status="Occupied", evse_id=1, connector_id=1)
        )
        auth = await peer.call(call201.Authorize(id_token={"idToken": "TAG-201", "type": "ISO14443"}))
        assert auth.id_token_info["status"] == "Invalid"  # unknown tag under the default "reject" policy
        security = await peer.call(
            call201.SecurityEventNotification(type="FirmwareUpdated", timestamp=NOW, tech_info="v2")
        )
        assert security is not None
    record = appliance.services.chargers.get("CP-201")
    assert record.registration == "Accepted"
    assert record.boot["chargePointModel"] == "M201"
    assert record.connectors[1].status == "Occupied"
    await appliance.store.flush()
    for action in ("BootNotification", "Heartbeat", "StatusNotification", "Authorize"):
        assert logged(appliance, "CP-201", action) == [("in", 3)]


async def test_transaction_started_updated_ended(appliance) -> None:
    async with peer_201(appliance.ocpp_port, "CP-201-TX") as peer:
        base = {"timestamp": NOW, "transaction_info": {"transaction_id": "TX-A1"}}
        started = await peer.call(
            call201.TransactionEvent(
                event_type="Started", trigger_reason="Authorized", seq_no=0,
                id_token={"idToken": "TAG-201", "type": "ISO14443"}, evse={"id": 1, "connectorId": 1},
                **base,
            )
        )  # fmt: skip
        assert started.id_token_info["status"] == "Invalid"
        meter = [{"timestamp": NOW, "sampledValue": [{"value": 1500.0}]}]
        await peer.call(
            call201.TransactionEvent(
                event_type="Updated", trigger_reason="MeterValuePeriodic", seq_no=1, meter_value=meter, **base
            )
        )
        await peer.call(
            call201.TransactionEvent(event_type="Ended", trigger_reason="EVDeparted", seq_no=2, **base)
        )
        # The charger resends the Ended it got no answer for (as an offline queue would): stored once.
        await peer.call(
            call201.TransactionEvent(event_type="Ended", trigger_reason="EVDeparted", seq_no=2, **base)
        )
    await appliance.store.flush()
    assert logged(appliance, "CP-201-TX", "TransactionEvent") == [("in", 3)] * 4
    with closing(appliance.read_connection()) as db:
        stored = list(
            db.execute(
                "SELECT id, charger_tx_id, connector_id, id_tag, stop_reason, stopped_at IS NOT NULL, "
                "meter_stop FROM transactions WHERE charger_id = 'CP-201-TX'"
            )
        )
        events = list(
            db.execute(
                "SELECT seq_no, event_type FROM transaction_events "
                "WHERE charger_id = 'CP-201-TX' ORDER BY seq_no"
            )
        )
        # The Updated's readings are in the meter log (as 1.6 MeterValues'); the Ended's meter_stop read it.
        readings = [reading.energy_wh for reading in meter_readings(db, charger_id="CP-201-TX")]
    assert [row[1:] for row in stored] == [("TX-A1", 1, "TAG-201", "EVDeparted", 1, 1500)]
    assert events == [(0, "Started"), (1, "Updated"), (2, "Ended")]
    assert readings == [1500.0]
    assert appliance.services.transactions.open_on("CP-201-TX") == []


async def test_two_transactions_alike_but_for_their_id_are_both_stored(appliance) -> None:
    """A station with no clock set and no meter sends the same timestamp, tag and meter start for every
    transaction; 1.6's replay key made the second one's write fail (InternalError). Its transactionId tells
    them apart, and a 1.6 replay is still one transaction."""
    meter = [{"timestamp": NOW, "sampledValue": [{"value": 0.0}]}]
    async with peer_201(appliance.ocpp_port, "CP-201-SAME") as peer:
        for tx in ("TX-1", "TX-2"):
            base = {"timestamp": NOW, "transaction_info": {"transaction_id": tx}}
            started = await peer.call(
                call201.TransactionEvent(
                    event_type="Started", trigger_reason="Authorized", seq_no=0, meter_value=meter,
                    id_token={"idToken": "FREE", "type": "Central"}, evse={"id": 1, "connectorId": 1}, **base,
                )
            )  # fmt: skip
            assert started is not None, f"{tx}'s Started got a CALLERROR"  # the library returns None for one
            await peer.call(
                call201.TransactionEvent(event_type="Ended", trigger_reason="EVDeparted", seq_no=1, **base)
            )
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        stored = list(
            db.execute(
                "SELECT charger_tx_id, id_tag, stopped_at IS NOT NULL FROM transactions "
                "WHERE charger_id = 'CP-201-SAME' ORDER BY id"
            )
        )
    assert stored == [("TX-1", "FREE", 1), ("TX-2", "FREE", 1)]


async def test_a_csms_only_or_16_action_gets_its_version_error(appliance) -> None:
    async with peer_201(appliance.ocpp_port, "CP-201-ERR", boot=True) as peer:
        websocket = peer._connection
        await websocket.send('[2,"x1","Reset",{"type":"Immediate"}]')
        await websocket.send('[2,"x2","StartTransaction",{"connectorId":1}]')
        await asyncio.sleep(0)
    # The library's reader consumed the replies; the message log has them.
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        replies = {
            exchange.message_id: exchange.reply
            for exchange in MessageLog.query(db, charger_id="CP-201-ERR")
            if exchange.message_id in ("x1", "x2")
        }
    assert b"NotSupported" in replies["x1"]
    assert b"NotImplemented" in replies["x2"]


async def test_commands_reach_a_201_charger(appliance) -> None:
    async with peer_201(appliance.ocpp_port, "CP-201-CMD") as peer:
        answer = await appliance.commands.call(
            "CP-201-CMD",
            "GetVariables",
            {
                "getVariableData": [
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
                ]
            },
            timeout=10,
        )
        assert answer["getVariableResult"][0]["attributeValue"] == "300"
        reset = await appliance.commands.call("CP-201-CMD", "Reset", {"type": "Immediate"}, timeout=10)
        assert reset == {"status": "Accepted"}
        assert peer.received == ["GetVariables", "Reset:Immediate"]
        with pytest.raises(InvalidCommandError, match=r"OCPP 2\.0\.1"):
            await appliance.commands.call("CP-201-CMD", "RemoteStartTransaction", {"idTag": "T"}, timeout=10)


# --- 2.1 -------------------------------------------------------------------------------------------------


async def test_a_21_charger_boots_and_sends_21_only_messages(appliance) -> None:
    websocket = await open_websocket(appliance.ocpp_port, "CP-21", ["ocpp2.1"])
    peer = ChargePoint21("CP-21", websocket, response_timeout=10)
    runner = asyncio.create_task(peer.start())
    try:
        boot = await peer.call(call21.BootNotification(charging_station=STATION, reason="PowerUp"))
        assert boot.status == "Accepted"
        await peer.call(call21.Heartbeat())
        alarm = await peer.call(
            call21.NotifyDERAlarm(control_type="FreqDroop", timestamp=NOW, grid_event_fault="OverVoltage")
        )
        assert alarm is not None
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await runner
        await websocket.close()
    await appliance.store.flush()
    assert logged(appliance, "CP-21", "NotifyDERAlarm") == [("in", 3)]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('[2,"bad1","BootNotification",{"reason":"PowerUp"}]', "OccurrenceConstraintViolation"),
        ('[2,"bad2","BootNotification",{"reason":"PowerUp","chargingStation":{"model":5,"vendorName":"V"}}]',
         "TypeConstraintViolation"),
        ('[2,"bad3","Heartbeat",', "FormatViolation"),
    ],
)  # fmt: skip
async def test_a_bad_201_frame_gets_the_2x_spelling(appliance, frame: str, code: str) -> None:
    websocket = await open_websocket(appliance.ocpp_port, "CP-201-BAD", ["ocpp2.0.1"])
    try:
        await websocket.send(frame)
        reply = json.loads(await asyncio.wait_for(websocket.recv(), 10))
    finally:
        await websocket.close()
    assert reply[0] == 4
    assert reply[2] == code


async def test_a_201_charger_away_is_still_checked_against_201(appliance) -> None:
    async with peer_201(appliance.ocpp_port, "CP-201-AWAY"):
        pass
    # Gone: a 2.0.1 Reset is a valid request of its version, so the call fails only for being offline.
    with pytest.raises(ChargerOfflineError):
        await appliance.commands.call("CP-201-AWAY", "Reset", {"type": "Immediate"}, timeout=10)
    with pytest.raises(InvalidCommandError, match='"Immediate","OnIdle"'):  # 2.0.1's ResetEnumType
        await appliance.commands.call("CP-201-AWAY", "Reset", {"type": "Hard"}, timeout=10)


async def test_meter_values_are_stored_normalised(appliance) -> None:
    reading = {
        "value": 7.2,
        "measurand": "Power.Active.Import",
        "unitOfMeasure": {"unit": "W", "multiplier": 3},
    }
    energy = {"value": 12.5, "unitOfMeasure": {"unit": "kWh"}}
    async with peer_201(appliance.ocpp_port, "CP-201-MV") as peer:
        await peer.call(
            call201.MeterValues(
                evse_id=2, meter_value=[{"timestamp": NOW, "sampledValue": [energy, reading]}]
            )
        )
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        rows = list(
            db.execute(
                "SELECT connector_id, transaction_id, energy_wh, power_w FROM meter_values "
                "WHERE charger_id = 'CP-201-MV'"
            )
        )
    assert rows == [(2, None, 12500.0, 7200.0)]


async def test_notify_report_parts_build_the_device_model(appliance) -> None:
    def item(component: dict[str, Any], variable: str, value: str) -> dict[str, Any]:
        attribute = {"type": "Actual", "value": value, "mutability": "ReadWrite"}
        return {"component": component, "variable": {"name": variable}, "variableAttribute": [attribute]}

    ctrlr = {"name": "OCPPCommCtrlr"}
    evse = {"name": "EVSE", "evse": {"id": 1}}
    async with peer_201(appliance.ocpp_port, "CP-201-DM") as peer:
        for seq_no, (tbc, data) in enumerate([
            (True, [item(ctrlr, "HeartbeatInterval", "300")]),
            (False, [item(evse, "Power", "22000"), item(ctrlr, "HeartbeatInterval", "60")]),
        ]):  # fmt: skip
            await peer.call(
                call201.NotifyReport(request_id=7, generated_at=NOW, seq_no=seq_no, tbc=tbc, report_data=data)
            )
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        stored = [(row[0], row[2], row[4], row[7]) for row in device_model.read(db, "CP-201-DM")]
    assert stored == [
        ("EVSE", 1, "Power", "22000"),
        ("OCPPCommCtrlr", 0, "HeartbeatInterval", "60"),  # the later part wins
    ]


async def test_get_and_set_variables_answers_update_the_device_model(appliance) -> None:
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    async with peer_201(appliance.ocpp_port, "CP-201-VAR"):
        await appliance.commands.call(
            "CP-201-VAR", "GetVariables", {"getVariableData": [heartbeat]}, timeout=10
        )
        await appliance.store.flush()
        with closing(appliance.read_connection()) as db:
            read = [(row[4], row[7]) for row in device_model.read(db, "CP-201-VAR")]
        assert read == [("HeartbeatInterval", "300")]  # what the peer answered
        answer = await appliance.commands.call(
            "CP-201-VAR",
            "SetVariables",
            {"setVariableData": [{**heartbeat, "attributeValue": "120"}]},
            timeout=10,
        )
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        read = [(row[4], row[7]) for row in device_model.read(db, "CP-201-VAR")]
    assert read == [("HeartbeatInterval", "120")]


async def test_a_21_send_is_logged_and_never_answered(appliance) -> None:
    websocket = await open_websocket(appliance.ocpp_port, "CP-21-SEND", ["ocpp2.1"])
    try:
        boot = {"chargingStation": STATION, "reason": "PowerUp"}
        await websocket.send(json.dumps([2, "b", "BootNotification", boot]))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 10))[0] == 3
        stream = {"id": 1, "pending": 0, "basetime": NOW, "data": [{"t": 0, "v": "230.1"}]}
        await websocket.send(json.dumps([6, "s1", "NotifyPeriodicEventStream", stream]))
        # Nothing comes back for the SEND: the next answer is the heartbeat's.
        await websocket.send(json.dumps([2, "h", "Heartbeat", {}]))
        answer = json.loads(await asyncio.wait_for(websocket.recv(), 10))
        assert answer[:2] == [3, "h"]
    finally:
        await websocket.close()
    await appliance.store.flush()
    assert logged(appliance, "CP-21-SEND", "NotifyPeriodicEventStream") == [("in", None)]


async def test_an_integer_beyond_the_store_in_a_nested_201_object_is_refused(appliance) -> None:
    websocket = await open_websocket(appliance.ocpp_port, "CP-201-BIG", ["ocpp2.0.1"])
    try:
        boot = {"chargingStation": STATION, "reason": "PowerUp"}
        await websocket.send(json.dumps([2, "b", "BootNotification", boot]))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 10))[0] == 3
        event = {
            "eventType": "Started", "timestamp": NOW, "triggerReason": "Authorized", "seqNo": 0,
            "transactionInfo": {"transactionId": "BIG"}, "evse": {"id": 2**63},
        }  # fmt: skip
        await websocket.send(json.dumps([2, "t", "TransactionEvent", event]))
        answer = json.loads(await asyncio.wait_for(websocket.recv(), 10))
        # The store (signed 64-bit) must not see it; the server goes on.
        assert answer[:3] == [4, "t", "PropertyConstraintViolation"]
        assert "/evse/id" in answer[3]
        await websocket.send(json.dumps([2, "h", "Heartbeat", {}]))
        assert json.loads(await asyncio.wait_for(websocket.recv(), 10))[:2] == [3, "h"]
    finally:
        await websocket.close()


async def test_a_huge_multiplier_is_no_reading_and_does_not_stall_the_server(appliance) -> None:
    huge = {"value": 1.0, "unitOfMeasure": {"unit": "Wh", "multiplier": 10**9}}
    async with peer_201(appliance.ocpp_port, "CP-201-MUL") as peer:
        # Hang guard only: 10 ** (10 ** 9) as an integer once held the event loop for minutes.
        async with asyncio.timeout(10):
            await peer.call(
                call201.MeterValues(evse_id=1, meter_value=[{"timestamp": NOW, "sampledValue": [huge]}])
            )
            await peer.call(call201.Heartbeat())
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        rows = list(db.execute("SELECT energy_wh FROM meter_values WHERE charger_id = 'CP-201-MUL'"))
    assert rows == [(None,)]  # stored as sent, no reading read from it
