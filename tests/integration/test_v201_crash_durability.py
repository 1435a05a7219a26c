"""A server killed with SIGKILL under OCPP 2.0.1 transaction load loses no TransactionEvent it answered.

2.0.1 chargers send TransactionEvent Started and Ended as fast as the server answers; the server process is
killed at a random moment; after a restart every Started and Ended a charger got an answer for is in the
store (its transaction, by the charger's own transactionId, opened or closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from contextlib import closing
from typing import Any

import websockets

from tests.conftest import ServedStore
from tests.server_process import ServerProcess

CHARGERS = 20


async def charger_loop(
    port: int, index: int, started: set[tuple[str, str]], ended: set[tuple[str, str]], progress: asyncio.Event
) -> None:
    charger_id = f"CRASH201-{index}"
    url = f"ws://127.0.0.1:{port}/ocpp/{charger_id}"
    with contextlib.suppress(websockets.ConnectionClosed, OSError):
        async with websockets.connect(url, subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]

            async def rpc(message_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
                await ws.send(json.dumps([2, message_id, action, payload]))
                answer = json.loads(await ws.recv())
                assert answer[0] == 3, answer
                return answer[2]  # type: ignore[no-any-return]

            station = {"model": "M", "vendorName": "V"}
            await rpc("b", "BootNotification", {"chargingStation": station, "reason": "PowerUp"})
            for n in range(1_000_000):
                stamp = f"2026-11-25T10:{n // 60 % 60:02d}:{n % 60:02d}Z"
                tx = f"T-{n}"
                for seq_no, event_type in enumerate(("Started", "Ended")):
                    event = {
                        "eventType": event_type, "timestamp": stamp, "triggerReason": "Authorized",
                        "seqNo": seq_no, "transactionInfo": {"transactionId": tx},
                    }  # fmt: skip
                    await rpc(f"{event_type}{n}", "TransactionEvent", event)
                    (started if event_type == "Started" else ended).add((charger_id, tx))
                progress.set()


async def test_sigkill_under_201_load_loses_no_answered_event(served_store: ServedStore) -> None:
    server = ServerProcess(served_store.data_dir, *served_store.flags)
    port = await server.start()
    started: set[tuple[str, str]] = set()
    ended: set[tuple[str, str]] = set()
    progress = asyncio.Event()
    fleet = [asyncio.ensure_future(charger_loop(port, i, started, ended, progress)) for i in range(CHARGERS)]
    async with asyncio.timeout(60):  # a hang guard only
        while len(ended) < 100:
            progress.clear()
            await progress.wait()
    await asyncio.sleep(random.uniform(0.0, 0.5))
    server.kill()
    await asyncio.gather(*fleet)
    await server.process.wait()  # type: ignore[union-attr]
    assert len(started) >= 100

    restarted = ServerProcess(served_store.data_dir, *served_store.flags)
    await restarted.start()
    assert await restarted.stop() == 0

    with closing(served_store.reader()) as db:
        stored = set(db.execute("SELECT charger_id, charger_tx_id FROM transactions"))
        closed = set(
            db.execute("SELECT charger_id, charger_tx_id FROM transactions WHERE stopped_at IS NOT NULL")
        )
    assert started <= stored, f"{len(started - stored)} answered Started events lost"
    assert ended <= closed, f"{len(ended - closed)} answered Ended events lost"
