"""A 2.0.1 charger on the installed `voltyard serve`: negotiated, served, shown and commanded (issue 20).

The `ocpp` library's v201 ChargePoint connects over a real socket offering ocpp1.6 and ocpp2.0.1; the
appliance picks 2.0.1, answers its boot, heartbeat and status, shows the version in the API's charger view,
and sends it a GetVariables through the API's command route. A config limiting `[ocpp] versions` to 1.6
refuses a 2.0.1-only charger at the handshake, naming what it offered and what is allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from tests.journeys.appliance import RunningAppliance

HANG_GUARD = 30
NOW = "2026-11-25T10:00:00Z"


class Station(ChargePoint):  # type: ignore[misc]
    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return call_result.GetVariables(
            get_variable_result=[
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "42",
                    **{k: item[k] for k in ("component", "variable")},
                }
                for item in get_variable_data
            ]
        )


def kwh(value: float) -> dict[str, Any]:
    return {"value": value, "unitOfMeasure": {"unit": "kWh"}}


async def _a_day(appliance: RunningAppliance) -> dict[str, Any]:
    async with websockets.connect(
        f"{appliance.ocpp_url}/CP-201-J",
        subprotocols=["ocpp1.6", "ocpp2.0.1"],
        open_timeout=HANG_GUARD,  # type: ignore[list-item]
    ) as websocket:
        assert websocket.subprotocol == "ocpp2.0.1"
        station = Station("CP-201-J", websocket, response_timeout=HANG_GUARD)
        runner = asyncio.create_task(station.start())
        try:
            boot = await station.call(
                call.BootNotification(
                    charging_station={"model": "J1", "vendorName": "Journey"}, reason="PowerUp"
                )
            )
            assert boot.status == "Accepted"
            await station.call(call.Heartbeat())
            await station.call(
                call.StatusNotification(
                    timestamp=NOW, connector_status="Available", evse_id=1, connector_id=1
                )
            )
            for seq_no, event_type in enumerate(["Started", "Ended"]):
                await station.call(
                    call.TransactionEvent(
                        event_type=event_type, timestamp=NOW, trigger_reason="Authorized", seq_no=seq_no,
                        transaction_info={"transactionId": "J-TX-1"}, evse={"id": 1, "connectorId": 1},
                        meter_value=[{"timestamp": NOW, "sampledValue": [kwh(0.5 + seq_no)]}],
                    )
                )  # fmt: skip
            heartbeat = {
                "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
                "variableAttribute": [{"value": "300", "mutability": "ReadWrite"}],
            }  # fmt: skip
            await station.call(
                call.NotifyReport(request_id=1, generated_at=NOW, seq_no=0, report_data=[heartbeat])
            )
            # Written behind, within the store's commit interval: wait until the API reads it.
            await asyncio.to_thread(
                appliance.wait_for,
                lambda: appliance.api("GET", "/chargers/CP-201-J").json["device_model"],
                HANG_GUARD,
                "the device model",
            )
            view = await asyncio.to_thread(appliance.api, "GET", "/chargers/CP-201-J")
            body = {
                "getVariableData": [
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
                ]
            }
            answer = await asyncio.to_thread(
                appliance.api, "POST", "/chargers/CP-201-J/commands/GetVariables", body
            )
            command = {"status": answer.status, "body": answer.json}
            wrong = await asyncio.to_thread(
                appliance.api, "POST", "/chargers/CP-201-J/commands/RemoteStartTransaction", {"idTag": "T"}
            )
            transactions = await asyncio.to_thread(appliance.api, "GET", "/transactions?charger_id=CP-201-J")
            return {
                "transactions": transactions.json,
                "view": view.json,
                "command": command,
                "wrong": (wrong.status, wrong.json),
            }
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await runner


def test_a_201_charger_is_served_shown_and_commanded(appliance: RunningAppliance) -> None:
    seen = asyncio.run(asyncio.wait_for(_a_day(appliance), HANG_GUARD))
    view = seen["view"]
    assert view["ocpp_version"] == "2.0.1"
    (variable,) = view["device_model"]
    assert (variable["component"], variable["variable"], variable["value"]) == (
        "OCPPCommCtrlr",
        "HeartbeatInterval",
        "300",
    )
    assert (view["registration"], view["vendor"], view["model"]) == ("Accepted", "Journey", "J1")
    assert view["connectors"][0]["status"] == "Available"
    assert seen["command"]["status"] == 200
    assert seen["command"]["body"]["answer"]["getVariableResult"][0]["attributeValue"] == "42"
    status, body = seen["wrong"]
    assert status == 422
    assert "not a CSMS-initiated OCPP 2.0.1 action" in body["error"]["message"]
    # The one transaction list: our integer id, the charger's string id, the energy of its readings.
    (transaction,) = seen["transactions"]["items"]
    assert transaction["charger_transaction_id"] == "J-TX-1"
    assert (transaction["meter_start"], transaction["meter_stop"], transaction["energy_wh"]) == (
        500,
        1500,
        1000,
    )
    assert transaction["active"] is False


def test_versions_limited_to_16_refuse_a_201_only_charger(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config='[ocpp]\nversions = ["1.6"]\n', flags=[
        "--host", "127.0.0.1", "--port", "0", "--api-port", "0", "--data-dir", str(tmp_path / "site"),
    ])  # fmt: skip
    try:

        async def refused() -> websockets.InvalidStatus:
            with pytest.raises(websockets.InvalidStatus) as caught:
                await websockets.connect(f"{appliance.ocpp_url}/CP-NEW", subprotocols=["ocpp2.0.1"])  # type: ignore[list-item]
            return caught.value

        error = asyncio.run(asyncio.wait_for(refused(), HANG_GUARD))
        assert error.response.status_code == 400
        assert error.response.body == (
            b"the handshake must offer one of the subprotocols ocpp1.6; it offered ocpp2.0.1"
        )
    finally:
        assert appliance.stop() == 0
