"""The peer: a central system built the way the seeds build one, the `ocpp` library's ChargePoint per
connection on a `websockets` server (asyncio loop), with handlers for the benchmark's actions.

The library validates every request and every response with jsonschema, as it does by default. With
`2.0.1` as second argument it serves OCPP 2.0.1 instead (subprotocol `ocpp2.0.1`, the library's v201
ChargePoint): BootNotification, Heartbeat, StatusNotification and TransactionEvent (`idTokenInfo` accepted
when the event carries an idToken).

Usage: python bench/baselines/ocpp_peer_server.py PORT [1.6|2.0.1]
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

# ruff: noqa: ANN401 - the library's handlers take and return untyped payloads
import websockets
from ocpp import v16, v201
from ocpp.routing import on


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class CentralSystemSession(v16.ChargePoint):  # type: ignore[misc]
    @on("BootNotification")
    def on_boot_notification(self, **kwargs: Any) -> Any:
        return v16.call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **kwargs: Any) -> Any:
        return v16.call_result.Heartbeat(current_time=now())

    @on("StatusNotification")
    def on_status_notification(self, **kwargs: Any) -> Any:
        return v16.call_result.StatusNotification()

    @on("MeterValues")
    def on_meter_values(self, **kwargs: Any) -> Any:
        return v16.call_result.MeterValues()


class CentralSystemSession201(v201.ChargePoint):  # type: ignore[misc]
    @on("BootNotification")
    def on_boot_notification(self, **kwargs: Any) -> Any:
        return v201.call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **kwargs: Any) -> Any:
        return v201.call_result.Heartbeat(current_time=now())

    @on("StatusNotification")
    def on_status_notification(self, **kwargs: Any) -> Any:
        return v201.call_result.StatusNotification()

    @on("TransactionEvent")
    def on_transaction_event(self, id_token: Any = None, **kwargs: Any) -> Any:
        if id_token is None:
            return v201.call_result.TransactionEvent()
        return v201.call_result.TransactionEvent(id_token_info={"status": "Accepted"})


SESSIONS: dict[str, tuple[str, type[v16.ChargePoint] | type[v201.ChargePoint]]] = {
    "1.6": ("ocpp1.6", CentralSystemSession),
    "2.0.1": ("ocpp2.0.1", CentralSystemSession201),
}


async def main(port: int, version: str) -> None:
    subprotocol, session = SESSIONS[version]

    async def handle(connection: Any) -> None:
        charger_id = connection.request.path.rsplit("/", 1)[-1]
        await session(charger_id, connection).start()

    async with websockets.serve(handle, "127.0.0.1", port, subprotocols=[subprotocol], max_queue=None):  # type: ignore[list-item]
        print(f"peer ready on {port} (OCPP {version})", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "1.6"))
