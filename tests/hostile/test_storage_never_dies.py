"""One frame must never stop all storage (issue 17, finding 1).

A StatusNotification with connectorId 2^63 was answered, then ended the store's writer thread at the next
commit (OverflowError binding the row); from then on nothing was stored while /health said ok. A
StopTransaction with transactionId or meterStop 2^63 got InternalError and was not recorded. Each check
runs against a real `voltyard serve` over real websocket frames.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import websockets
from aiohttp import ClientSession
from websockets.asyncio.client import ClientConnection

from tests.journeys import appliance as appliance_module
from tests.journeys.appliance import RunningAppliance

BEYOND = 2**63  # the first integer the store's signed 64-bit columns cannot hold; the decoder reads it
NOW = "2026-11-25T10:00:00Z"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningAppliance]:
    running = RunningAppliance(tmp_path / "site")
    running.start()
    try:
        yield running
    finally:
        running.stop()


async def rpc(ws: ClientConnection, message_id: str, action: str, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([2, message_id, action, payload]))
    answer: list[Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
    return answer


async def charger(server: RunningAppliance, charger_id: str) -> ClientConnection:
    ws = await websockets.connect(f"{server.ocpp_url}/{charger_id}", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    answer = await rpc(ws, "boot", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    assert answer[2]["status"] == "Accepted", answer
    return ws


async def start(ws: ClientConnection, message_id: str = "start", connector_id: int = 1) -> int:
    payload = {"connectorId": connector_id, "idTag": "TAG", "meterStart": 100, "timestamp": NOW}
    answer = await rpc(ws, message_id, "StartTransaction", payload)
    assert answer[0] == 3, answer
    transaction_id: int = answer[2]["transactionId"]
    return transaction_id


def health(server: RunningAppliance) -> dict[str, Any]:
    answer = server.api("GET", "/health", role="readonly")
    assert answer.status == 200, answer
    body: dict[str, Any] = answer.json
    return body


def events(server: RunningAppliance, kind: str) -> list[dict[str, Any]]:
    answer = server.api("GET", "/events?limit=5000", role="readonly")
    assert answer.status == 200, answer
    return [event for event in answer.json["items"] if event["kind"] == kind]


def assert_storing(server: RunningAppliance) -> None:
    body = health(server)
    assert body["status"] == "ok", body
    assert body["store"]["writer"] == "running", body


@pytest.fixture
async def chargers(server: RunningAppliance) -> AsyncIterator[tuple[ClientConnection, ClientConnection]]:
    a, b = await charger(server, "CP-A"), await charger(server, "CP-B")
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_connector_id_2_63_is_refused_and_every_charger_is_still_stored(
    server: RunningAppliance, chargers: tuple[ClientConnection, ClientConnection]
) -> None:
    a, b = chargers
    status = {"connectorId": BEYOND, "errorCode": "NoError", "status": "Available"}
    answer = await rpc(a, "s1", "StatusNotification", status)
    assert answer[:3] == [4, "s1", "PropertyConstraintViolation"], answer
    assert answer[3].startswith(f"/connectorId: {BEYOND} is out of range"), answer
    # The next hand-over (a StartTransaction forces one) is where the writer used to die.
    transaction_id = await start(b)
    answer = server.api("GET", f"/transactions/{transaction_id}", role="readonly")
    assert answer.status == 200, answer
    assert answer.json["charger_id"] == "CP-B"
    # and the charger that sent the bad frame is served and stored too
    assert (await rpc(a, "s2", "StatusNotification", status | {"connectorId": 1}))[0] == 3
    assert await start(a) != transaction_id
    assert_storing(server)


async def test_a_stop_with_transaction_id_2_63_is_answered_and_recorded(
    server: RunningAppliance, chargers: tuple[ClientConnection, ClientConnection]
) -> None:
    a, _ = chargers
    stop = {"transactionId": BEYOND, "meterStop": 500, "timestamp": NOW, "idTag": "TAG", "reason": "Local"}
    answer = await rpc(a, "stop", "StopTransaction", stop)
    assert answer[0] == 3, answer
    assert answer[2]["idTagInfo"]["status"]
    (event,) = events(server, "TransactionStopFlagged")
    # recorded losslessly: the id the store cannot hold as a number is kept as its decimal text
    assert event["charger_id"] == "CP-A"
    assert event["data"]["flag"] == "OutOfRange"
    assert event["data"]["transactionId"] == str(BEYOND)
    assert event["data"]["meterStop"] == 500
    await start(a)
    assert_storing(server)


async def test_a_stop_with_meter_stop_2_63_is_answered_and_closes_its_transaction(
    server: RunningAppliance, chargers: tuple[ClientConnection, ClientConnection]
) -> None:
    a, _ = chargers
    transaction_id = await start(a)
    stop = {
        "transactionId": transaction_id,
        "meterStop": BEYOND,
        "timestamp": NOW,
        "reason": "EVDisconnected",
    }
    answer = await rpc(a, "stop", "StopTransaction", stop)
    assert answer == [3, "stop", {}], answer
    view = server.api("GET", f"/transactions/{transaction_id}", role="readonly").json
    assert view["stop_time"] is not None, view
    assert view["stop_reason"] == "EVDisconnected"
    assert view["meter_stop"] is None  # the energy is unknown, not a wrapped or rounded number
    assert view["stop_flag"] == "MeterStopOutOfRange"
    (event,) = events(server, "TransactionStopFlagged")
    assert event["data"]["transactionId"] == transaction_id
    assert event["data"]["meterStop"] == str(BEYOND)
    assert health(server)["transactions"]["active"] == 0
    await start(a, "again", connector_id=2)
    assert_storing(server)


async def test_an_answer_with_2_63_is_refused_before_it_reaches_the_store(
    server: RunningAppliance, chargers: tuple[ClientConnection, ClientConnection]
) -> None:
    # A charger's answer is not a CALL: its GetLocalListVersion listVersion 2^63 once reached the store
    # as a row that could not be bound, and ended the writer.
    a, b = chargers

    async def answer_the_command() -> None:
        call = json.loads(await asyncio.wait_for(a.recv(), 30))
        assert call[2] == "GetLocalListVersion", call
        await a.send(json.dumps([3, call[1], {"listVersion": BEYOND}]))

    answering = asyncio.create_task(answer_the_command())
    command = await asyncio.to_thread(server.api, "POST", "/chargers/CP-A/commands/GetLocalListVersion", {})
    await answering
    assert command.status == 422, command
    assert (
        f"GetLocalListVersion answer from CP-A: /listVersion: {BEYOND} is out of range"
        in command.json["error"]["message"]
    )
    transaction_id = await start(b)
    assert server.api("GET", f"/transactions/{transaction_id}", role="readonly").status == 200
    assert health(server)["store"]["failed_rows"] == 0
    assert_storing(server)


async def test_a_request_with_2_63_is_refused_before_it_is_sent(
    server: RunningAppliance, chargers: tuple[ClientConnection, ClientConnection]
) -> None:
    reservation = {"connectorId": 1, "expiryDate": NOW, "idTag": "TAG", "reservationId": BEYOND}
    command = server.api("POST", "/chargers/CP-A/commands/ReserveNow", reservation)
    assert command.status == 422, command
    assert f"ReserveNow request: /reservationId: {BEYOND} is out of range" in command.json["error"]["message"]
    assert_storing(server)


async def test_meter_values_with_transaction_id_2_63_are_refused_not_stored_without_it(
    server: RunningAppliance, chargers: tuple[ClientConnection, ClientConnection]
) -> None:
    a, _ = chargers
    reading = {"timestamp": NOW, "sampledValue": [{"value": "1000", "unit": "Wh"}]}
    payload = {"connectorId": 1, "transactionId": BEYOND, "meterValue": [reading]}
    answer = await rpc(a, "m1", "MeterValues", payload)
    assert answer[:3] == [4, "m1", "PropertyConstraintViolation"], answer
    assert answer[3].startswith(f"/transactionId: {BEYOND} is out of range"), answer
    del payload["transactionId"]
    assert await rpc(a, "m2", "MeterValues", payload) == [3, "m2", {}]
    await start(a)
    assert_storing(server)


_FAILING_SERVE = """\
#!{python}
# `voltyard` with one fault injected at the store boundary: once the file `fail-store-writer` exists in the
# data directory, the writer's next commit raises what no commit isolates (the connection itself broken).
import sqlite3
import sys

from voltyard.cli import main
from voltyard.store.writer import StoreWriter

commit_group = StoreWriter._commit_group


def failing(self, jobs):
    if (self.path.parent / "fail-store-writer").exists():
        raise sqlite3.DatabaseError("disk I/O error (injected by the test)")
    commit_group(self, jobs)


StoreWriter._commit_group = failing
sys.exit(main())
"""


@pytest.fixture
def failing_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningAppliance]:
    script = tmp_path / "voltyard-failing-store"
    script.write_text(_FAILING_SERVE.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setattr(appliance_module, "voltyard_bin", lambda: script)
    running = RunningAppliance(tmp_path / "site")
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.stop()


async def test_a_writer_that_stops_is_degraded_on_health_and_sigterm_exits_cleanly(
    failing_server: RunningAppliance,
) -> None:
    server = failing_server
    ws = await charger(server, "CP-A")
    await start(ws)
    assert_storing(server)
    async with (
        ClientSession() as http,
        http.ws_connect(
            f"{server.api_url}/api/v1/stream?kinds=Warning",
            headers={"Authorization": f"Bearer {server.token('readonly')}"},
        ) as stream,
    ):
        (server.data_dir / "fail-store-writer").touch()
        payload = {"connectorId": 2, "idTag": "T", "meterStart": 0, "timestamp": NOW}
        answer = await rpc(ws, "start2", "StartTransaction", payload)
        assert answer[:3] == [4, "start2", "InternalError"], answer  # answered, never left waiting
        alert = msgpack.unpackb((await asyncio.wait_for(stream.receive(), 30)).data)
    assert alert["kind"] == "Warning", alert
    assert alert["data"]["kind"] == "StoreWriterStopped"
    assert "disk I/O error (injected by the test)" in alert["data"]["error"]
    body = health(server)
    assert body["status"] == "degraded", body
    assert body["store"]["writer"] == "stopped"
    assert "disk I/O error (injected by the test)" in body["store"]["error"]
    await ws.close()
    assert server.stop(timeout=30) == 0  # a hang guard: SIGTERM ends it, without a traceback at exit
    log = server.text
    assert "CRITICAL voltyard.store.writer: store writer stopped: DatabaseError: disk I/O error" in log
    assert "closing a writer that had stopped" in log
    assert "voltyard stopped" in log
