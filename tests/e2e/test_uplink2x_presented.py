"""A 2.0.1 charger at the site, presented upstream over the 1.6 uplink (issue 24).

The site is an in-process appliance with `[uplink]` towards the `ocpp` library's v16 central system
(tests/e2e/test_uplink_ocpp_csms.py's Server: the library validates every call it gets against the 1.6
schemas); the site's charger is the library's v201 ChargePoint. Upstream it must look like a 1.6 charge
point: its boot from its chargingStation, its 2.x statuses as 1.6 ones, its transaction as Start /
MeterValues / Stop with the same energy; and the central system's 1.6 commands reach it translated to 2.0.1,
its answers coming back as 1.6 ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from ocpp.exceptions import NotSupportedError
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from voltyard.ocpp.codec import load_codec
from voltyard.runtime import Appliance
from websockets.asyncio.server import ServerConnection

from tests.e2e.peer import open_websocket
from tests.e2e.test_uplink_ocpp_csms import Csms

NOW = "2026-11-25T10:00:00Z"
LATER = "2026-11-25T10:05:00Z"
STATION = {"model": "M201", "vendorName": "V201", "serialNumber": "S-201", "firmwareVersion": "2.0.1-fw"}
V16 = load_codec("1.6")


class Station(ChargePoint201):  # type: ignore[misc]
    """A 2.0.1 charging station that takes the central system's commands and records them."""

    def __init__(self, charger_id: str, connection: Any) -> None:
        super().__init__(charger_id, connection, response_timeout=10)
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on("RequestStartTransaction")
    def on_start(self, id_token: dict[str, Any], remote_start_id: int, **rest: Any) -> Any:
        self.received.append(
            ("RequestStartTransaction", {"id_token": id_token, "remote_start_id": remote_start_id, **rest})
        )
        return result201.RequestStartTransaction(status="Accepted")

    @on("RequestStopTransaction")
    def on_stop(self, transaction_id: str) -> Any:
        self.received.append(("RequestStopTransaction", {"transaction_id": transaction_id}))
        return result201.RequestStopTransaction(status="Accepted")

    @on("ChangeAvailability")
    def on_availability(self, operational_status: str, **rest: Any) -> Any:
        self.received.append(("ChangeAvailability", {"operational_status": operational_status, **rest}))
        return result201.ChangeAvailability(status="Scheduled")

    @on("Reset")
    def on_reset(self, type: str, **rest: Any) -> Any:
        self.received.append(("Reset", {"type": type, **rest}))
        return result201.Reset(status="Rejected")


class RawCsms(Csms):
    """The library's 1.6 central system (it validates what it gets), keeping every call as it came."""

    def __init__(self, charge_point_id: str, connection: ServerConnection, calls: list[tuple[str, str, Any]]):
        super().__init__(charge_point_id, connection, [])
        self.calls = calls

    @on("Authorize")
    def authorize(self, id_tag: str) -> Any:
        # The central system knows better than the site (which accepts every tag): this one is blocked.
        return result16.Authorize(
            id_tag_info={"status": "Blocked" if id_tag.startswith("BLOCK") else "Accepted"}
        )

    async def route_message(self, raw_msg: str) -> None:
        message = json.loads(raw_msg)
        if message[0] == 2:
            self.calls.append((self.id, message[2], message[3]))
        await super().route_message(raw_msg)


class Server:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.points: dict[str, RawCsms] = {}
        self.port = 0

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        point = RawCsms(charge_point_id, connection, self.calls)
        self.points[charge_point_id] = point
        with contextlib.suppress(websockets.ConnectionClosed):
            await point.start()

    def got(self, charger_id: str, action: str) -> list[dict[str, Any]]:
        return [payload for point, name, payload in self.calls if point == charger_id and name == action]


@pytest.fixture
async def csms() -> AsyncIterator[Server]:
    server = Server()
    serving = websockets.serve(server.handle, "127.0.0.1", 0, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    async with serving as running:
        server.port = running.sockets[0].getsockname()[1]
        yield server


@contextlib.asynccontextmanager
async def station(port: int, charger_id: str) -> AsyncIterator[Station]:
    websocket = await open_websocket(port, charger_id, ["ocpp2.0.1"])
    peer = Station(charger_id, websocket)
    runner = asyncio.create_task(peer.start())
    try:
        answer = await peer.call(call201.BootNotification(charging_station=STATION, reason="PowerUp"))
        assert answer.status == "Accepted"
        yield peer
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await runner
        await websocket.close()


async def _until(predicate: Any, what: str, timeout: float = 30) -> None:
    try:
        async with asyncio.timeout(timeout):  # a hang guard
            while not predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def _online(site: Appliance, charger_id: str) -> None:
    def online() -> bool:
        link = site.uplink.links.get(charger_id) if site.uplink is not None else None
        return link is not None and link.state == "online"

    await _until(online, f"{charger_id} online upstream")


def _kwh(value: float) -> dict[str, Any]:
    return {"value": value, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}}


@pytest.fixture
async def site(appliance_config, csms: Server) -> AsyncIterator[Appliance]:
    running = Appliance(
        appliance_config(
            ocpp={"unknown_id_tag": "accept"},
            uplink={
                "url": f"ws://127.0.0.1:{csms.port}/ocpp",
                "meter_interval": 0.2,
                "backoff_min": 0.1,
                "backoff_max": 0.5,
            },
        )
    )
    await running.start()
    yield running
    await running.stop()


async def test_a_201_charger_looks_like_a_16_charge_point_upstream(site: Appliance, csms: Server) -> None:
    warnings: list[Any] = []
    site.events.subscribe(lambda event: warnings.append(event) if event.kind == "Warning" else None)
    async with station(site.ocpp_port, "CP-2X") as peer:
        await _online(site, "CP-2X")  # its connectors' states after the boot: none yet
        await peer.call(
            call201.StatusNotification(timestamp=NOW, connector_status="Occupied", evse_id=1, connector_id=1)
        )
        await _until(lambda: csms.got("CP-2X", "StatusNotification"), "the status upstream")
        base = {"transaction_info": {"transaction_id": "TX-2X-1"}, "evse": {"id": 1, "connectorId": 1}}
        await peer.call(
            call201.TransactionEvent(
                event_type="Started", timestamp=NOW, trigger_reason="Authorized", seq_no=0,
                id_token={"idToken": "TAG-2X", "type": "ISO14443"}, meter_value=[
                    {"timestamp": NOW, "sampledValue": [_kwh(1.5)]}], **base,
            )
        )  # fmt: skip
        await peer.call(
            call201.TransactionEvent(
                event_type="Updated", timestamp=NOW, trigger_reason="MeterValuePeriodic", seq_no=1,
                meter_value=[{"timestamp": "2026-11-25T10:01:00Z", "sampledValue": [
                    _kwh(2.25), {"value": 7.4, "measurand": "Power.Active.Import",
                                 "unitOfMeasure": {"unit": "W", "multiplier": 3}}]}], **base,
            )
        )  # fmt: skip
        await _until(lambda: csms.got("CP-2X", "MeterValues"), "the meter values upstream")
        await peer.call(
            call201.TransactionEvent(
                event_type="Ended", timestamp=LATER, trigger_reason="StopAuthorized", seq_no=2,
                transaction_info={"transaction_id": "TX-2X-1", "stopped_reason": "Local"},
                meter_value=[{"timestamp": LATER, "sampledValue": [_kwh(4.0)]}],
            )
        )  # fmt: skip
        await _until(lambda: csms.got("CP-2X", "StopTransaction"), "the stop upstream")
        await peer.call(
            call201.StatusNotification(
                timestamp=LATER, connector_status="Available", evse_id=1, connector_id=1
            )
        )
        await _until(lambda: len(csms.got("CP-2X", "StatusNotification")) >= 4, "the statuses upstream")

    # Every call the central system got is a valid 1.6 one (the library refuses others: none was refused).
    for _, action, payload in csms.calls:
        V16.validate(action, payload)
    assert warnings == [], warnings  # no UplinkMessageRefused: the central system took every message
    assert csms.got("CP-2X", "BootNotification") == [
        {"chargePointVendor": "V201", "chargePointModel": "M201", "chargePointSerialNumber": "S-201",
         "firmwareVersion": "2.0.1-fw"}
    ]  # fmt: skip
    # Occupied before the transaction is Preparing; Charging while it is active; Preparing again once it
    # ended with the connector still occupied; then Available.
    statuses = [(p["connectorId"], p["status"]) for p in csms.got("CP-2X", "StatusNotification")]
    assert statuses == [(1, "Preparing"), (1, "Charging"), (1, "Preparing"), (1, "Available")], statuses
    (start,) = csms.got("CP-2X", "StartTransaction")
    assert (start["connectorId"], start["idTag"], start["meterStart"], start["timestamp"]) == (
        1,
        "TAG-2X",
        1500,
        NOW,
    )
    (stop,) = csms.got("CP-2X", "StopTransaction")
    assert (stop["meterStop"], stop["timestamp"], stop["reason"]) == (4000, LATER, "Local")
    upstream_id = stop["transactionId"]
    meter_values = csms.got("CP-2X", "MeterValues")
    assert {m["transactionId"] for m in meter_values} == {upstream_id}
    readings = [
        (value["timestamp"], sample["value"], sample.get("unit"), sample.get("measurand"))
        for m in meter_values
        for value in m["meterValue"]
        for sample in value["sampledValue"]
    ]
    assert readings == [
        (NOW, "1.5", "kWh", "Energy.Active.Import.Register"),
        ("2026-11-25T10:01:00Z", "2.25", "kWh", "Energy.Active.Import.Register"),
        ("2026-11-25T10:01:00Z", "7400", "W", "Power.Active.Import"),
        (LATER, "4.0", "kWh", "Energy.Active.Import.Register"),
    ], readings


async def test_the_central_systems_16_commands_reach_a_201_charger_translated(
    site: Appliance, csms: Server
) -> None:
    async with station(site.ocpp_port, "CP-2C") as peer:
        await _online(site, "CP-2C")
        point = csms.points["CP-2C"]

        started = await point.call(call16.RemoteStartTransaction(id_tag="UP-TAG", connector_id=1))
        assert started.status == "Accepted"
        ((action, request),) = peer.received
        assert action == "RequestStartTransaction"
        assert request["id_token"] == {"id_token": "UP-TAG", "type": "Central"}
        assert request["evse_id"] == 1
        # The charger starts it, naming the remote start; it goes up, under the central system's id.
        await peer.call(
            call201.TransactionEvent(
                event_type="Started", timestamp=NOW, trigger_reason="RemoteStart", seq_no=0,
                transaction_info={"transaction_id": "TX-REMOTE",
                                  "remote_start_id": request["remote_start_id"]},
                id_token={"idToken": "UP-TAG", "type": "Central"}, evse={"id": 1, "connectorId": 1},
                meter_value=[{"timestamp": NOW, "sampledValue": [_kwh(0.25)]}],
            )
        )  # fmt: skip
        await _until(lambda: csms.got("CP-2C", "StartTransaction"), "the remote start upstream")
        await _until(lambda: csms.got("CP-2C", "MeterValues"), "a MeterValues with the upstream id")
        upstream_id = csms.got("CP-2C", "MeterValues")[0]["transactionId"]

        stopped = await point.call(call16.RemoteStopTransaction(transaction_id=upstream_id))
        assert stopped.status == "Accepted"
        assert peer.received[-1] == ("RequestStopTransaction", {"transaction_id": "TX-REMOTE"})

        available = await point.call(call16.ChangeAvailability(connector_id=0, type="Inoperative"))
        assert available.status == "Scheduled"
        assert peer.received[-1] == ("ChangeAvailability", {"operational_status": "Inoperative"})
        reset = await point.call(call16.Reset(type="Soft"))
        assert reset.status == "Rejected"
        assert peer.received[-1] == ("Reset", {"type": "OnIdle"})

        # Nothing else has a 2.0.1 counterpart here: NotSupported, saying why; the charger got nothing.
        received = len(peer.received)
        with pytest.raises(NotSupportedError) as refused:
            await point.call(call16.TriggerMessage(requested_message="Heartbeat"), suppress=False)
        assert refused.value.description.startswith(
            "TriggerMessage is not relayed to an OCPP 2.0.1 charger over the OCPP 1.6 uplink"
        )
        with pytest.raises(NotSupportedError, match=r"not an OCPP 2\.0\.1 transaction"):
            await point.call(call16.RemoteStopTransaction(transaction_id=987654), suppress=False)
        assert len(peer.received) == received


async def test_a_201_chargers_authorize_is_the_central_systems_to_answer_while_online(
    site: Appliance, csms: Server
) -> None:
    async with station(site.ocpp_port, "CP-2A") as peer:
        await _online(site, "CP-2A")
        token = "BLOCKED-AT-THE-OPERATOR-0123456789"  # 34 characters: 1.6's idTag has 20
        answer = await peer.call(call201.Authorize(id_token={"idToken": token, "type": "ISO14443"}))
        assert answer.id_token_info == {"status": "Blocked"}
        assert csms.got("CP-2A", "Authorize") == [{"idTag": token[:20]}]
        # A NoAuthorization token is no one's to ask about.
        free = await peer.call(call201.Authorize(id_token={"idToken": "", "type": "NoAuthorization"}))
        assert free.id_token_info == {"status": "Accepted"}
        assert len(csms.got("CP-2A", "Authorize")) == 1
