"""A server killed with SIGKILL under transaction load loses nothing it acknowledged.

Chargers start and stop transactions as fast as the server answers; the server process is killed at
a random moment; after a restart, every transaction id any charger received and every stop that was
answered must be in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from contextlib import closing

import websockets

from tests.conftest import ServedStore
from tests.server_process import ServerProcess

CHARGERS = 40


async def charger_loop(
    port: int, index: int, started: dict[int, str], stopped: set[int], progress: asyncio.Event
) -> None:
    charger_id = f"CRASH-{index}"
    url = f"ws://127.0.0.1:{port}/ocpp/{charger_id}"
    with contextlib.suppress(websockets.ConnectionClosed, OSError):
        async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]

            async def rpc(message_id: str, action: str, payload: dict) -> dict:
                await ws.send(json.dumps([2, message_id, action, payload]))
                answer = json.loads(await ws.recv())
                assert answer[0] == 3, answer
                return answer[2]

            await rpc("b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
            for n in range(1_000_000):
                stamp = f"2026-11-25T10:{n // 60 % 60:02d}:{n % 60:02d}Z"
                start = {"connectorId": 1, "idTag": "T", "meterStart": n, "timestamp": stamp}
                tx = (await rpc(f"s{n}", "StartTransaction", start))["transactionId"]
                started[tx] = charger_id
                await rpc(
                    f"t{n}", "StopTransaction", {"transactionId": tx, "meterStop": n + 1, "timestamp": stamp}
                )
                stopped.add(tx)
                progress.set()


async def test_sigkill_under_load_loses_no_acknowledged_transaction(served_store: ServedStore) -> None:
    server = ServerProcess(served_store.data_dir, *served_store.flags)
    port = await server.start()
    started: dict[int, str] = {}
    stopped: set[int] = set()
    progress = asyncio.Event()
    fleet = [
        asyncio.ensure_future(charger_loop(port, i, started, stopped, progress)) for i in range(CHARGERS)
    ]
    # Kill once the load is well under way, at a moment no one chose.
    async with asyncio.timeout(60):  # a hang guard only
        while len(stopped) < 200:
            progress.clear()
            await progress.wait()
    await asyncio.sleep(random.uniform(0.0, 0.5))
    server.kill()
    await asyncio.gather(*fleet)
    await server.process.wait()  # type: ignore[union-attr]
    assert len(started) >= 200

    restarted = ServerProcess(served_store.data_dir, *served_store.flags)
    await restarted.start()
    assert await restarted.stop() == 0

    with closing(served_store.reader()) as db:
        stored = dict(db.execute("SELECT id, charger_id FROM transactions"))
        closed = {row[0] for row in db.execute("SELECT id FROM transactions WHERE stopped_at IS NOT NULL")}
    missing = {tx: charger for tx, charger in started.items() if stored.get(tx) != charger}
    assert not missing, f"{len(missing)} acknowledged starts lost"
    assert stopped <= closed, f"{len(stopped - closed)} acknowledged stops lost"
