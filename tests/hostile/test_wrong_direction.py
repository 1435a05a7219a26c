"""A CSMS-only action sent by a charger is answered NotSupported (issue 17, finding 8).

OCPP-J 1.6 answers an action the receiver does not know with NotImplemented and one it knows but does not
take with NotSupported. A charger sending Reset or RemoteStartTransaction (actions only the central system
sends) got InternalError, which says the central system failed. Over a real appliance and real sockets.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from voltyard.runtime import Appliance

from tests.e2e.peer import open_websocket


async def rpc(ws: Any, message_id: str, action: str, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([2, message_id, action, payload]))
    answer: list[Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
    return answer


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("Reset", {"type": "Hard"}),
        ("RemoteStartTransaction", {"idTag": "TAG"}),
        ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}),
        ("GetDiagnostics", {"location": "ftp://example.invalid/"}),
    ],
)
async def test_csms_only_action_from_a_charger_is_not_supported(
    appliance: Appliance, action: str, payload: dict[str, Any]
) -> None:
    ws = await open_websocket(appliance.ocpp_port, "CP-WRONG-WAY")
    try:
        boot = {"chargePointVendor": "V", "chargePointModel": "M"}
        booted = await rpc(ws, "boot", "BootNotification", boot)
        assert booted[2]["status"] == "Accepted", booted
        answer = await rpc(ws, "m1", action, payload)
        assert answer[:3] == [4, "m1", "NotSupported"], answer
        assert action in answer[3], answer
        assert (await rpc(ws, "after", "Heartbeat", {}))[0] == 3  # the session keeps serving
    finally:
        await ws.close()


async def test_unknown_action_is_still_not_implemented(appliance: Appliance) -> None:
    ws = await open_websocket(appliance.ocpp_port, "CP-UNKNOWN")
    try:
        answer = await rpc(ws, "m1", "NoSuchAction", {})
        assert answer[:3] == [4, "m1", "NotImplemented"], answer
    finally:
        await ws.close()
