"""Fair admission under overload, over real sockets (issue 18): a reconnect storm is accepted in a few turns
of the event loop, a charger over the loop's per-turn budget is paused and then answered (never dropped),
and new chargers are refused with a Retry-After while the loop is behind. Behaviour, not timing: the
assertions count turns of the loop and answers, never milliseconds."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time

import pytest
import uvloop
import websockets
from voltyard.runtime import Appliance

from tests.e2e.peer import open_websocket


def _upgrade_request(charger_id: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ocpp/{charger_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    ).encode()


def _answered(sock: socket.socket) -> bytes:
    try:
        return sock.recv(4096)
    except BlockingIOError:
        return b""


def test_a_reconnect_storm_is_upgraded_within_a_few_turns_of_the_loop(appliance_config) -> None:
    # On the appliance's own loop (`voltyard serve` runs on uvloop, whose libuv accepted one connection per
    # poll of the loop, so about one upgrade per turn).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        upgraded, storm = runner.run(_storm(Appliance(appliance_config()), 200))
    assert upgraded == storm, f"{upgraded} of {storm} upgraded within 20 turns of the loop"


async def _storm(appliance: Appliance, storm: int) -> tuple[int, int]:
    await appliance.start()
    clients = []
    try:
        for number in range(storm):
            # The kernel completes each TCP handshake into the listener's accept queue; the request waits in
            # the socket's buffer. Nothing of the appliance has run yet (this coroutine holds the loop).
            client = socket.create_connection(("127.0.0.1", appliance.ocpp_port))
            clients.append(client)
            client.sendall(_upgrade_request(f"STORM{number:03d}"))
            client.setblocking(False)
        for _ in range(20):  # twenty turns of the loop (each polls its sockets once)
            await asyncio.sleep(0)
        answers = [_answered(client) for client in clients]
    finally:
        for client in clients:
            client.close()
        await appliance.stop()
    return sum(answer.startswith(b"HTTP/1.1 101") for answer in answers), storm


async def test_a_charger_over_the_loops_budget_is_paused_then_answered_in_order(appliance) -> None:
    gateway = appliance.gateway
    gateway.budget.per_turn = gateway.budget.left = 3  # a tiny share per turn: one charger's burst spends it
    ws = await open_websocket(appliance.ocpp_port, "BUDGET1")
    try:
        boot = [2, "boot", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]
        await ws.send(json.dumps(boot))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))[2]["status"] == "Accepted"
        burst = 40
        for number in range(burst):  # one burst: all in the socket before the appliance reads any
            await ws.send(json.dumps([2, f"hb{number}", "Heartbeat", {}]))
        answers = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(burst)]
    finally:
        await ws.close()
    assert [answer[1] for answer in answers] == [f"hb{number}" for number in range(burst)]
    assert all(answer[0] == 3 for answer in answers)
    assert gateway.dispatcher.metrics.messages_deferred > 0  # the charger was paused, not dropped


async def test_a_boot_is_never_held_behind_the_loops_budget(appliance) -> None:
    gateway = appliance.gateway
    gateway.budget.per_turn = 1
    gateway.budget.left = 0  # the turn's share is spent
    ws = await open_websocket(appliance.ocpp_port, "BUDGET2")
    try:
        boot = [2, "boot", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]
        await ws.send(json.dumps(boot))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))[2]["status"] == "Accepted"
    finally:
        await ws.close()
    assert gateway.dispatcher.metrics.messages_deferred == 0


async def test_new_chargers_are_refused_while_the_loop_is_behind_and_admitted_after(appliance) -> None:
    loop = asyncio.get_running_loop()
    dialled = threading.Event()
    outcome: dict[str, object] = {}

    def dial() -> None:
        dialled.wait(10)
        with socket.create_connection(("127.0.0.1", appliance.ocpp_port), timeout=10) as client:
            client.sendall(_upgrade_request("LATE1"))
            outcome["answer"] = client.recv(4096)

    def stall() -> None:
        # What a loop behind its work looks like to a charger dialling now: nothing runs for 0.8 s.
        dialled.set()
        time.sleep(0.8)

    dialler = threading.Thread(target=dial)
    dialler.start()
    loop.call_soon(stall)
    await loop.run_in_executor(None, dialler.join, 15)
    answer = outcome["answer"]
    assert isinstance(answer, bytes)
    assert answer.startswith(b"HTTP/1.1 503"), answer
    assert b"Retry-After:" in answer
    assert b"overloaded" in answer
    assert appliance.gateway.dispatcher.metrics.handshakes["refused"] == 1
    await asyncio.sleep(0.2)  # the loop catches up: a few samples of the monitor at no lag
    ws = await open_websocket(appliance.ocpp_port, "LATE1")
    await ws.close()
    assert appliance.gateway.dispatcher.metrics.handshakes["accepted"] == 1


async def test_a_refused_handshake_is_a_clear_status_not_a_hang(appliance) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_websocket(appliance.ocpp_port, "x" * 49)
    assert refused.value.response.status_code == 404
    assert appliance.gateway.dispatcher.metrics.handshakes == {"refused": 1}


async def test_new_chargers_are_refused_while_memory_is_over_its_limit_and_connected_ones_go_on(
    appliance,
) -> None:
    gateway = appliance.gateway
    connected = await open_websocket(appliance.ocpp_port, "MEM1")
    try:
        # The limit below what the process holds now (as read by the loop monitor): the machine is "full".
        gateway.memory_limit = appliance.loop_monitor.rss_bytes // 2
        with pytest.raises(websockets.InvalidStatus) as refused:
            await open_websocket(appliance.ocpp_port, "MEM2")
        assert refused.value.response.status_code == 503
        assert b"overloaded" in refused.value.response.body
        assert refused.value.response.headers["Retry-After"]
        await connected.send(json.dumps([2, "hb", "Heartbeat", {}]))
        assert json.loads(await asyncio.wait_for(connected.recv(), 10))[0] == 3
        gateway.memory_limit = 0  # no limit: admitted again
        await (await open_websocket(appliance.ocpp_port, "MEM2")).close()
    finally:
        await connected.close()
    assert gateway.dispatcher.metrics.handshakes == {"accepted": 2, "refused": 1}
