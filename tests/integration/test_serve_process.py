"""`voltyard serve` as a process: ready line with the URL, clean stop on SIGTERM and SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from contextlib import closing

import pytest
import websockets

from tests.server_process import ServerProcess


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_stops_cleanly_closing_connections_and_flushing(tmp_path, signum: int) -> None:
    server = ServerProcess(tmp_path / "data")
    port = await server.start()
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/CP-STOP", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
        await ws.send(json.dumps([2, "1", "StatusNotification", status]))
        assert json.loads(await ws.recv())[0] == 3
        assert server.process is not None
        server.process.send_signal(signum)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001  # going away
    assert await server.stop() == 0
    assert b"voltyard stopped" in server.log
    with closing(sqlite3.connect(tmp_path / "data" / "voltyard.db")) as db:
        # Telemetry buffered at the signal was committed on the way out.
        assert db.execute("SELECT status FROM connectors WHERE charger_id = 'CP-STOP'").fetchone() == (
            "Charging",
        )
