"""The uplink against an independent central system: the `ocpp` library's v16 ChargePoint on the server
side over `websockets` (not Voltyard's code), with a site `voltyard serve` (the installed entry point)
uplinked to it and `voltyard sim run` chargers at the site.

Every site transaction must reach it as StartTransaction, MeterValues and StopTransaction under the id it
gave, with the site's energy, and its RemoteStartTransaction must start a session at a site charger.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import ServerConnection

from tests.journeys.appliance import RunningAppliance, voltyard_bin


class Csms(ChargePoint):  # type: ignore[misc]
    """The server side of one charge point's connection: answers and records what it gets."""

    ids = itertools.count(5000)

    def __init__(self, charge_point_id: str, connection: ServerConnection, got: list[tuple[str, str, Any]]):
        super().__init__(charge_point_id, connection)
        self.got = got

    def _got(self, action: str, payload: Any) -> None:
        self.got.append((self.id, action, payload))

    @on(Action.boot_notification)
    def boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        self._got("BootNotification", charge_point_vendor)
        now = datetime.now(UTC).isoformat()
        return call_result.BootNotification(current_time=now, interval=30, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

    @on(Action.status_notification)
    def status(self, connector_id: int, error_code: str, status: str, **_: Any) -> Any:
        self._got("StatusNotification", (connector_id, status))
        return call_result.StatusNotification()

    @on(Action.authorize)
    def authorize(self, id_tag: str) -> Any:
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.start_transaction)
    def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any) -> Any:
        transaction_id = next(self.ids)
        self._got("StartTransaction", (transaction_id, id_tag, meter_start, timestamp))
        return call_result.StartTransaction(transaction_id, {"status": AuthorizationStatus.accepted})

    @on(Action.meter_values)
    def meter_values(self, connector_id: int, meter_value: list[dict[str, Any]], **rest: Any) -> Any:
        self._got("MeterValues", (rest.get("transaction_id"), meter_value))
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **_: Any) -> Any:
        self._got("StopTransaction", (transaction_id, meter_stop))
        return call_result.StopTransaction()


class Server:
    def __init__(self) -> None:
        self.got: list[tuple[str, str, Any]] = []
        self.points: dict[str, Csms] = {}
        self.port = 0

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        point = Csms(charge_point_id, connection, self.got)
        self.points[charge_point_id] = point
        with contextlib.suppress(websockets.ConnectionClosed):
            await point.start()


@pytest.fixture
async def csms() -> AsyncIterator[Server]:
    server = Server()
    serving = websockets.serve(server.handle, "127.0.0.1", 0, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    async with serving as running:
        server.port = running.sockets[0].getsockname()[1]
        yield server


def _sim(url: str, tmp_path: Path, scenario: str, duration: int, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(voltyard_bin()), "sim", "run", "--url", url, "--chargers", "2", "--scenario", scenario,
            "--duration", str(duration), "--sample-interval", "1", "--progress", "off", "--no-plot",
            "--id-prefix", prefix, "--control-socket", str(tmp_path / f"{prefix}.sock"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


async def _until(predicate: Any, what: str, timeout: float = 60) -> None:
    try:
        async with asyncio.timeout(timeout):  # a hang guard
            while not predicate():
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def test_site_sessions_reach_an_ocpp_library_csms_and_its_remote_start_comes_down(
    csms: Server, tmp_path: Path
) -> None:
    site = RunningAppliance(tmp_path / "site" / "data")
    config = (
        '[ocpp]\nunknown_id_tag = "accept"\n[uplink]\n'
        f'url = "ws://127.0.0.1:{csms.port}/ocpp"\nmeter_interval = 1.0\n'
        "backoff_min = 0.2\nbackoff_max = 1.0\n"
    )
    flags = ["--host", "127.0.0.1", "--port", "0", "--api-port", "0", "--data-dir", str(site.data_dir)]
    await asyncio.to_thread(site.start, config, flags)
    try:
        sim = _sim(site.ocpp_url, tmp_path, "basic_charge", 12, "LIB")
        out, _ = await asyncio.to_thread(sim.communicate, timeout=120)
        assert "PASS sessions_complete" in out, out
        local = (await asyncio.to_thread(site.api, "GET", "/transactions")).json["items"]
        assert len(local) == 2
        stops = lambda: [g for g in csms.got if g[1] == "StopTransaction"]  # noqa: E731
        await _until(lambda: len(stops()) == len(local), "every stop at the CSMS")

        starts = {
            payload[0]: (point, payload)
            for point, action, payload in csms.got
            if action == "StartTransaction"
        }
        assert len(starts) == len(local), "each site transaction started once upstream"
        for transaction in local:
            mine = [
                (tid, meter_stop) for point, _, (tid, meter_stop) in stops()
                if starts[tid][0] == transaction["charger_id"]
            ]  # fmt: skip
            assert [meter_stop for _, meter_stop in mine] == [transaction["meter_stop"]], mine
            upstream_id = mine[0][0]
            assert starts[upstream_id][1][2] == transaction["meter_start"]  # the same energy upstream
            meter_values = [payload for _, action, payload in csms.got if action == "MeterValues"]
            readings = [value for tid, values in meter_values if tid == upstream_id for value in values]
            detail = (await asyncio.to_thread(site.api, "GET", f"/transactions/{transaction['id']}")).json
            assert [r["timestamp"] for r in readings] == [m["timestamp"] for m in detail["meter_values"]]
        assert {point for point, action, _ in csms.got if action == "BootNotification"} == {
            "LIB00000",
            "LIB00001",
        }

        # The CSMS's own RemoteStartTransaction reaches a site charger and starts a session there.
        idle = _sim(site.ocpp_url, tmp_path, "idle", 20, "REM")
        try:
            await _until(
                lambda: any(g[0] == "REM00000" and g[1] == "StatusNotification" for g in csms.got),
                "REM00000 at the CSMS",
            )
            answer = await csms.points["REM00000"].call(
                call.RemoteStartTransaction(id_tag="CSMS-TAG", connector_id=1)
            )
            assert answer.status == "Accepted"
            await _until(
                lambda: any(g[1] == "StartTransaction" and g[2][1] == "CSMS-TAG" for g in csms.got),
                "the remotely started session at the CSMS",
            )
        finally:
            await asyncio.to_thread(idle.communicate, timeout=120)
    finally:
        assert await asyncio.to_thread(site.stop) == 0


async def test_an_ocpp_library_csms_starts_a_session_on_a_cabinet_gun(csms: Server, tmp_path: Path) -> None:
    site = RunningAppliance(tmp_path / "site" / "data")
    # The site refuses unknown tags, so that the simulated EVs' AutoCharge ids do not start the guns.
    config = (
        '[ocpp]\nunknown_id_tag = "reject"\n[uplink]\n'
        f'url = "ws://127.0.0.1:{csms.port}/ocpp"\nmeter_interval = 1.0\n'
        "backoff_min = 0.2\nbackoff_max = 1.0\n"
        '[cabinet]\ncharge_point_id = "CABINET"\nsimulate_plcs = true\n'
        'bus = { interface = "virtual", channel = "voltyard-uplink-e2e" }\n'
        "guns = [{ connector_id = 1, plc_id = 0 }, { connector_id = 2, plc_id = 1 }]\n"
    )
    flags = ["--host", "127.0.0.1", "--port", "0", "--api-port", "0", "--data-dir", str(site.data_dir)]
    await asyncio.to_thread(site.start, config, flags)
    try:
        await _until(
            lambda: (
                {g[2][0] for g in csms.got if g[0] == "CABINET" and g[1] == "StatusNotification"} >= {1, 2}
            ),
            "the guns' states at the CSMS after the cabinet's boot",
        )
        answer = await csms.points["CABINET"].call(
            call.RemoteStartTransaction(id_tag="FLEET-7", connector_id=2)
        )
        assert answer.status == "Accepted"
        await _until(
            lambda: any(
                g[0] == "CABINET" and g[1] == "StartTransaction" and g[2][1] == "FLEET-7" for g in csms.got
            ),
            "the gun's session at the CSMS",
        )
        local = (await asyncio.to_thread(site.api, "GET", "/transactions")).json["items"]
        assert [(t["charger_id"], t["connector_id"], t["id_tag"], t["active"]) for t in local] == [
            ("CABINET", 2, "FLEET-7", True)
        ]
    finally:
        assert await asyncio.to_thread(site.stop) == 0
