"""End to end: the `ocpp` library's v16 ChargePoint as the independent charger, over real sockets.

Every charger-initiated action must be answered with a payload that passes the library's own schema
validation (`ChargePoint.call` validates the answer), and every CSMS-initiated action sent through
`commands.call` must reach the library's charge point and come back with its answer.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import closing

import pytest
from ocpp.v16 import call
from voltyard.errors import ChargerOfflineError, InvalidCommandError
from voltyard.ocpp.actions import CHARGER_ACTIONS, CSMS_ACTIONS
from voltyard.store.message_log import MessageLog

from tests.e2e.peer import CSMS_CASES, connected_peer

NOW = "2026-11-25T10:00:00Z"
METER = [
    {
        "timestamp": NOW,
        "sampledValue": [{"value": "1.5", "unit": "kWh", "measurand": "Energy.Active.Import.Register"}],
    }
]

CHARGER_CASES = {
    "Authorize": call.Authorize(id_tag="TAG1"),
    "BootNotification": call.BootNotification(charge_point_model="M1", charge_point_vendor="V1"),
    "DataTransfer": call.DataTransfer(vendor_id="com.unknown", message_id="m", data="d"),
    "DiagnosticsStatusNotification": call.DiagnosticsStatusNotification(status="Uploaded"),
    "FirmwareStatusNotification": call.FirmwareStatusNotification(status="Installed"),
    "Heartbeat": call.Heartbeat(),
    "MeterValues": call.MeterValues(connector_id=1, meter_value=METER),
    "StartTransaction": call.StartTransaction(connector_id=1, id_tag="TAG1", meter_start=0, timestamp=NOW),
    "StatusNotification": call.StatusNotification(connector_id=1, error_code="NoError", status="Available"),
    "StopTransaction": call.StopTransaction(meter_stop=1500, timestamp=NOW, transaction_id=1, id_tag="TAG1"),
    "LogStatusNotification": call.LogStatusNotification(status="Uploaded", request_id=1),
    "SecurityEventNotification": call.SecurityEventNotification(
        type="FirmwareUpdated", timestamp=NOW, tech_info="v2.1"
    ),
    "SignCertificate": call.SignCertificate(csr="-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END"),
    "SignedFirmwareStatusNotification": call.SignedFirmwareStatusNotification(
        status="Downloaded", request_id=1
    ),
}


def test_every_charger_action_has_a_case() -> None:
    assert set(CHARGER_CASES) == CHARGER_ACTIONS


def test_every_csms_action_has_a_case() -> None:
    assert set(CSMS_CASES) == CSMS_ACTIONS


@pytest.mark.parametrize("action", sorted(CHARGER_CASES))
async def test_charger_initiated_action_is_answered(appliance, action: str) -> None:
    async with connected_peer(appliance.ocpp_port, f"CP-{action}") as peer:
        # `call` raises if the answer is a CALLERROR or fails the library's schema validation.
        answer = await peer.call(CHARGER_CASES[action], suppress=False)
    assert answer is not None
    if action == "DataTransfer":
        assert answer.status == "UnknownVendorId"
    if action == "StartTransaction":
        assert answer.transaction_id >= 1
        assert answer.id_tag_info["status"] == "Invalid"  # unknown tag under the default "reject" policy
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        logged = [
            (exchange.direction, exchange.reply_type)
            for exchange in MessageLog.query(db, charger_id=f"CP-{action}", action=action)
        ]
    # One exchange per call: the charger's CALL and our CALLRESULT (the peer boots once before the call).
    assert logged == [("in", 3)] * (2 if action == "BootNotification" else 1)


@pytest.mark.parametrize("action", sorted(CSMS_CASES))
async def test_csms_initiated_action_reaches_the_charger(appliance, action: str) -> None:
    request, _, expected = CSMS_CASES[action]
    async with connected_peer(appliance.ocpp_port, f"CP-{action}") as peer:
        answer = await appliance.commands.call(f"CP-{action}", action, request, timeout=10)
        assert answer == expected
        assert [name for name, _ in peer.received] == [action]
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        (logged,) = MessageLog.query(db, charger_id=f"CP-{action}", direction="out")
    assert (logged.action, logged.message_type, logged.reply_type) == (action, 2, 3)
    assert json.loads(logged.reply)[2] == expected


async def test_answers_update_domain_state(appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-STATE"):
        for action in (
            "ChangeAvailability",
            "SendLocalList",
            "ReserveNow",
            "SetChargingProfile",
            "GetConfiguration",
        ):
            await appliance.commands.call("CP-STATE", action, CSMS_CASES[action][0], timeout=10)
    record = appliance.services.chargers.get("CP-STATE")
    assert record.connectors[1].availability == "Inoperative"
    assert record.local_list_version == 4
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        assert db.execute("SELECT id_tag FROM local_list WHERE charger_id = 'CP-STATE'").fetchall() == [
            ("TAG1",)
        ]
        assert db.execute("SELECT status FROM reservations WHERE id = 7").fetchone() == ("Accepted",)
        assert db.execute("SELECT profile_id FROM charging_profiles").fetchall() == [(5,)]
        assert db.execute("SELECT value FROM configuration WHERE key = 'HeartbeatInterval'").fetchone() == (
            "60",
        )


async def test_command_to_offline_charger_is_a_typed_error(appliance) -> None:
    with pytest.raises(ChargerOfflineError):
        await appliance.commands.call("NOBODY", "Reset", {"type": "Soft"}, timeout=1)


async def test_invalid_command_is_refused_before_sending(appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-INVALID") as peer:
        with pytest.raises(InvalidCommandError, match="type"):
            await appliance.commands.call("CP-INVALID", "Reset", {"type": "Sideways"}, timeout=5)
        with pytest.raises(InvalidCommandError, match="not a CSMS-initiated"):
            await appliance.commands.call("CP-INVALID", "Heartbeat", {}, timeout=5)
    assert peer.received == []


async def test_commands_wait_for_boot_then_go_in_order(appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-LATE", boot=False) as peer:
        first = asyncio.ensure_future(appliance.commands.call("CP-LATE", "ClearCache", {}, timeout=10))
        second = asyncio.ensure_future(
            appliance.commands.call("CP-LATE", "Reset", {"type": "Hard"}, timeout=10)
        )
        # A round trip after the commands were queued: a command sent at once would have reached the
        # charger before this answer (one socket, in order). The Heartbeat of a charger that has not
        # booted does not mark it as running.
        await peer.call(call.Heartbeat())
        assert peer.received == []  # nothing sent before the charger booted
        await peer.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        assert (await first)["status"] == "Accepted"
        assert (await second)["status"] == "Accepted"
        assert [name for name, _ in peer.received] == ["ClearCache", "Reset"]
