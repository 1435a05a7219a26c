"""The peer: a central system built the way the seeds build one, the `ocpp` library's ChargePoint per
connection on a `websockets` server (asyncio loop), with handlers for the benchmark's actions.

The library validates every request and every response with jsonschema, as it does by default.

Usage: python bench/baselines/ocpp_peer_server.py PORT
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

# ruff: noqa: ANN401 - the library's handlers take and return untyped payloads
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class CentralSystemSession(ChargePoint):  # type: ignore[misc]
    @on("BootNotification")
    def on_boot_notification(self, **kwargs: Any) -> Any:
        return call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **kwargs: Any) -> Any:
        return call_result.Heartbeat(current_time=now())

    @on("StatusNotification")
    def on_status_notification(self, **kwargs: Any) -> Any:
        return call_result.StatusNotification()

    @on("MeterValues")
    def on_meter_values(self, **kwargs: Any) -> Any:
        return call_result.MeterValues()


async def handle(connection: Any) -> None:
    charger_id = connection.request.path.rsplit("/", 1)[-1]
    await CentralSystemSession(charger_id, connection).start()


async def main(port: int) -> None:
    async with websockets.serve(handle, "127.0.0.1", port, subprotocols=["ocpp1.6"], max_queue=None):  # type: ignore[list-item]
        print(f"peer ready on {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
