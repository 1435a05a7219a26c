"""The simulator against an independent OCPP 1.6 central system: the `ocpp` library's v16 ChargePoint on the
server side over `websockets` (none of Voltyard's server code), as tests/e2e/test_sim_against_ocpp_csms_2x.py
does for 2.0.1 and 2.1: proof that a simulated 1.6 charger does not only fit our own server.

One charger boots, runs the default scenario's session (Authorize, StartTransaction, MeterValues of the
transaction, StopTransaction), answers GetConfiguration and ChangeConfiguration, and runs a second, remote
session (RemoteStartTransaction, RemoteStopTransaction). The library validates every message and every answer
against its own copy of the 1.6 schemas.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from voltyard.sim.fleet import FleetShape
from voltyard.sim.link import ConnectOptions
from voltyard.sim.simulation import SimConfig, Simulation
from websockets.asyncio.server import ServerConnection


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Csms(ChargePoint):  # type: ignore[misc]
    """The server side of one charge point's connection: answers and records what it gets."""

    _ids = itertools.count(1)

    def __init__(self, charge_point_id: str, connection: ServerConnection) -> None:
        super().__init__(charge_point_id, connection, response_timeout=10)
        self.got: list[tuple[str, dict[str, Any]]] = []

    @on("BootNotification")
    def boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        self.got.append(("BootNotification", {"vendor": charge_point_vendor, "model": charge_point_model}))
        return call_result.BootNotification(current_time=_now(), interval=60, status="Accepted")

    @on("Heartbeat")
    def heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def status(self, connector_id: int, status: str, error_code: str, **_: Any) -> Any:
        self.got.append(("StatusNotification", {"connector": connector_id, "status": status}))
        return call_result.StatusNotification()

    @on("Authorize")
    def authorize(self, id_tag: str, **_: Any) -> Any:
        self.got.append(("Authorize", {"idTag": id_tag}))
        return call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    def start_transaction(self, id_tag: str, meter_start: int, **_: Any) -> Any:
        transaction_id = next(self._ids)
        started = {"id": transaction_id, "idTag": id_tag, "meterStart": meter_start}
        self.got.append(("StartTransaction", started))
        return call_result.StartTransaction(transaction_id=transaction_id, id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def meter_values(self, connector_id: int, meter_value: list[dict[str, Any]], **rest: Any) -> Any:
        self.got.append(("MeterValues", {"transactionId": rest.get("transaction_id"), "meter": meter_value}))
        return call_result.MeterValues()

    @on("StopTransaction")
    def stop_transaction(self, meter_stop: int, timestamp: str, transaction_id: int, **rest: Any) -> Any:
        self.got.append(
            ("StopTransaction", {"id": transaction_id, "meterStop": meter_stop, "reason": rest.get("reason")})
        )
        return call_result.StopTransaction()

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [payload for action, payload in self.got if action == kind]


class Server:
    def __init__(self) -> None:
        self.points: dict[str, Csms] = {}
        self.port = 0

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        point = Csms(charge_point_id, connection)
        self.points[charge_point_id] = point
        with contextlib.suppress(websockets.ConnectionClosed):
            await point.start()


@pytest.fixture
async def csms() -> AsyncIterator[Server]:
    running = Server()
    async with websockets.serve(running.handle, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as serving:  # type: ignore[list-item]
        running.port = serving.sockets[0].getsockname()[1]
        yield running


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    try:
        async with asyncio.timeout(timeout):  # a hang guard
            while not predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def test_a_full_session_and_the_core_csms_actions_against_the_ocpp_library(
    csms: Server, tmp_path: Path
) -> None:
    simulation = Simulation(
        SimConfig(
            options=ConnectOptions(f"ws://127.0.0.1:{csms.port}/ocpp", backoff_base=0.2),
            shape=FleetShape(1, 1, "LIB", protocol=(("1.6", 1),)),
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
        assert point.events("BootNotification")[0]["vendor"] == "Voltyard"
        simulation.begin()
        configuration = await point.call(call.GetConfiguration(key=["HeartbeatInterval"]))
        assert configuration.configuration_key[0]["key"] == "HeartbeatInterval"
        changed = await point.call(call.ChangeConfiguration(key="HeartbeatInterval", value="90"))
        assert changed.status == "Accepted"
        await simulation.wait_end()
        await _until(lambda: bool(point.events("StopTransaction")), "the scenario's StopTransaction")
        start = await point.call(call.RemoteStartTransaction(id_tag="REMOTE", connector_id=1))
        assert start.status == "Accepted"
        remote = lambda: [e for e in point.events("StartTransaction") if e["idTag"] == "REMOTE"]  # noqa: E731
        await _until(lambda: bool(remote()), "the remote session's StartTransaction")
        transaction_id = remote()[0]["id"]
        stop = await point.call(call.RemoteStopTransaction(transaction_id=transaction_id))
        assert stop.status == "Accepted"
        await _until(
            lambda: any(e["id"] == transaction_id for e in point.events("StopTransaction")),
            "the remote session's StopTransaction",
        )
    finally:
        result = await simulation.finish()
    assert result.passed, result.summary_lines()
    starts, stops = point.events("StartTransaction"), point.events("StopTransaction")
    assert [s["id"] for s in starts] == [1, 2]
    assert sorted(s["id"] for s in stops) == [1, 2]
    assert point.events("Authorize")[0] == {"idTag": starts[0]["idTag"]}
    scenario_stop = next(s for s in stops if s["id"] == 1)
    assert scenario_stop["meterStop"] > starts[0]["meterStart"]  # it charged
    assert next(s for s in stops if s["id"] == 2)["reason"] == "Remote"
    readings = [e for e in point.events("MeterValues") if e["transactionId"] == 1]
    assert readings, "no MeterValues of the scenario's transaction"
