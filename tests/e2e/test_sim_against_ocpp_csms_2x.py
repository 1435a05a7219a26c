"""The simulator against an independent OCPP 2.0.1 / 2.1 central system: the `ocpp` library's v201 and v21
ChargePoint on the server side over `websockets` (none of Voltyard's server code), proof that a simulated
2.x charger does not only fit our own server.

One charger of each version negotiates the library's subprotocol, boots, runs the default scenario's
session (Authorize, TransactionEvent Started / Updated / Ended with rising seqNo under the transactionId it
made), answers the library's GetBaseReport with NotifyReport parts, Get/SetVariables, and runs a second,
remote session (RequestStartTransaction, RequestStopTransaction). The library validates every message and
every answer against its own copy of the version's schemas (`ChargePoint.call` and its routing).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from voltyard.sim.fleet import FleetShape
from voltyard.sim.link import ConnectOptions
from voltyard.sim.simulation import SimConfig, Simulation
from websockets.asyncio.server import ServerConnection

LIBRARY = {
    "2.0.1": (ChargePoint201, call201, result201),
    "2.1": (ChargePoint21, call21, result21),
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def csms_class(version: str) -> type[Any]:
    base, _, result = LIBRARY[version]

    class Csms(base):  # type: ignore[misc,valid-type]
        """The server side of one charge point's connection: answers and records what it gets."""

        def __init__(self, charge_point_id: str, connection: ServerConnection) -> None:
            super().__init__(charge_point_id, connection, response_timeout=10)
            self.got: list[tuple[str, dict[str, Any]]] = []

        @on("BootNotification")
        def boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
            self.got.append(("BootNotification", {"chargingStation": charging_station, "reason": reason}))
            return result.BootNotification(current_time=_now(), interval=60, status="Accepted")

        @on("Heartbeat")
        def heartbeat(self, **_: Any) -> Any:
            return result.Heartbeat(current_time=_now())

        @on("StatusNotification")
        def status(self, connector_status: str, evse_id: int, connector_id: int, **_: Any) -> Any:
            self.got.append(("StatusNotification", {"status": connector_status, "evse": evse_id}))
            return result.StatusNotification()

        @on("Authorize")
        def authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
            self.got.append(("Authorize", id_token))
            return result.Authorize(id_token_info={"status": "Accepted"})

        @on("TransactionEvent")
        def event(
            self,
            event_type: str,
            seq_no: int,
            transaction_info: dict[str, Any],
            trigger_reason: str,
            **rest: Any,
        ) -> Any:
            seen = {"eventType": event_type, "seqNo": seq_no, "info": transaction_info}
            seen.update(trigger=trigger_reason, meter=rest.get("meter_value"), idToken=rest.get("id_token"))
            self.got.append(("TransactionEvent", seen))
            if rest.get("id_token") is not None:
                return result.TransactionEvent(id_token_info={"status": "Accepted"})
            return result.TransactionEvent()

        @on("NotifyReport")
        def report(self, request_id: int, seq_no: int, generated_at: str, **rest: Any) -> Any:
            self.got.append(("NotifyReport", {"seqNo": seq_no, "tbc": rest.get("tbc", False),
                                              "data": rest.get("report_data", [])}))  # fmt: skip
            return result.NotifyReport()

        def events(self, kind: str) -> list[dict[str, Any]]:
            return [payload for action, payload in self.got if action == kind]

    return Csms


class Server:
    def __init__(self, version: str) -> None:
        self.csms = csms_class(version)
        self.points: dict[str, Any] = {}
        self.port = 0

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        point = self.csms(charge_point_id, connection)
        self.points[charge_point_id] = point
        with contextlib.suppress(websockets.ConnectionClosed):
            await point.start()


@pytest.fixture(params=["2.0.1", "2.1"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Server]]:
    version: str = request.param
    running = Server(version)
    # The library's side picks its one version; the simulated charger offers it among others.
    subprotocols = [f"ocpp{version}"]
    async with websockets.serve(running.handle, "127.0.0.1", 0, subprotocols=subprotocols) as serving:  # type: ignore[arg-type]
        running.port = serving.sockets[0].getsockname()[1]
        yield version, running


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    try:
        async with asyncio.timeout(timeout):  # a hang guard
            while not predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def test_a_full_session_and_the_core_csms_actions_against_the_ocpp_library(
    server: tuple[str, Server], tmp_path: Path
) -> None:
    version, csms = server
    _, call, _ = LIBRARY[version]
    simulation = Simulation(
        SimConfig(
            options=ConnectOptions(f"ws://127.0.0.1:{csms.port}/ocpp", backoff_base=0.2),
            shape=FleetShape(1, 1, "LIB", protocol=((version, 1),)),
            scenario="basic_charge",
            duration=6.0,
            sample_interval=1,
            control_socket=tmp_path / "ctl.sock",
        )
    )
    await simulation.start()
    try:
        assert await simulation.wait_booted()
        point = csms.points["LIB00000"]
        boot = point.events("BootNotification")[0]
        assert boot["chargingStation"]["vendor_name"] == "Voltyard"
        assert boot["reason"] == "PowerUp"
        simulation.begin()
        # The library hands nested data over with snake_case keys.
        # The device model, while the scenario's session runs.
        report = await point.call(call.GetBaseReport(request_id=7, report_base="FullInventory"))
        assert report.status == "Accepted"
        await _until(lambda: any(not part["tbc"] for part in point.events("NotifyReport")), "the last part")
        parts = point.events("NotifyReport")
        assert [part["seqNo"] for part in parts] == list(range(len(parts)))
        assert len(parts) > 1  # in parts
        names = {(d["component"]["name"], d["variable"]["name"]) for part in parts for d in part["data"]}
        assert ("OCPPCommCtrlr", "HeartbeatInterval") in names
        assert ("EVSE", "Power") in names
        variable = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
        got = await point.call(call.GetVariables(get_variable_data=[variable]))
        assert got.get_variable_result[0]["attribute_value"] == "60"  # the boot's interval
        changed = await point.call(
            call.SetVariables(set_variable_data=[{**variable, "attributeValue": "90"}])
        )
        assert changed.set_variable_result[0]["attribute_status"] == "Accepted"
        await simulation.wait_end()
        # A remote session once the scenario's has ended.
        await _until(
            lambda: any(e["eventType"] == "Ended" for e in point.events("TransactionEvent")),
            "the first Ended",
        )
        start = await point.call(
            call.RequestStartTransaction(
                id_token={"idToken": "REMOTE", "type": "Central"}, remote_start_id=11
            )
        )
        assert start.status == "Accepted"
        remote = lambda: [  # noqa: E731
            e for e in point.events("TransactionEvent") if e["info"].get("remote_start_id") == 11
        ]
        await _until(lambda: bool(remote()), "the remote session's Started")
        transaction_id = remote()[0]["info"]["transaction_id"]
        stop = await point.call(call.RequestStopTransaction(transaction_id=transaction_id))
        assert stop.status == "Accepted"
        await _until(
            lambda: any(
                e["eventType"] == "Ended" and e["info"]["transaction_id"] == transaction_id
                for e in point.events("TransactionEvent")
            ),
            "the remote session's Ended",
        )
    finally:
        result = await simulation.finish()
    assert result.passed, result.summary_lines()
    events = point.events("TransactionEvent")
    by_transaction: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_transaction.setdefault(event["info"]["transaction_id"], []).append(event)
    assert len(by_transaction) == 2
    for sequence in by_transaction.values():
        assert [e["seqNo"] for e in sequence] == list(range(len(sequence)))
        assert sequence[0]["eventType"] == "Started"
        assert sequence[0]["idToken"] is not None
        assert sequence[-1]["eventType"] == "Ended"
        assert all(e["eventType"] == "Updated" for e in sequence[1:-1])
    scenario, remote_session = by_transaction.values()
    assert scenario[0]["trigger"] == "Authorized"
    assert remote_session[0]["trigger"] == "RemoteStart"
    assert remote_session[-1]["info"]["stopped_reason"] == "Remote"
    energy = [
        sampled["value"]
        for sampled in scenario[-1]["meter"][0]["sampled_value"]
        if sampled["measurand"] == "Energy.Active.Import.Register"
    ]
    assert energy[0] > 0
    assert point.events("Authorize")[0] == {"id_token": "SIM000000C1", "type": "ISO14443"}
