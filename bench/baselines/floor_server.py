"""The floor: a bare picows + orjson OCPP-J responder on uvloop.

It parses each frame with orjson and answers a CALLRESULT with the minimal valid payload of the action:
no envelope checks, no schema validation, no state, no persistence. Nothing can answer OCPP calls for
less CPU in Python, so the central system's cost is quoted as a multiple of this one's.

It speaks OCPP 1.6 and 2.0.1: 2.0.1 when the charger offers `ocpp2.0.1`, else 1.6, and names it in the
handshake's answer. A 2.0.1 TransactionEvent gets `{}`, or an accepted `idTokenInfo` when it carries an
idToken, as the 2.0.1 schema wants.

Usage: python bench/baselines/floor_server.py PORT
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import uvloop
from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)


def now() -> str:
    return datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


REPLIES = {
    "BootNotification": lambda: {"status": "Accepted", "currentTime": now(), "interval": 300},
    "Heartbeat": lambda: {"currentTime": now()},
}


def transaction_event(payload: dict[str, Any]) -> dict[str, Any]:
    # The 2.0.1 schema wants idTokenInfo in the answer to an event that carries an idToken.
    return {"idTokenInfo": {"status": "Accepted"}} if "idToken" in payload else {}


REPLIES_201: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "BootNotification": lambda payload: {"status": "Accepted", "currentTime": now(), "interval": 300},
    "Heartbeat": lambda payload: {"currentTime": now()},
    "TransactionEvent": transaction_event,
}


class Responder(WSListener):  # type: ignore[misc]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        message = orjson.loads(frame.get_payload_as_bytes())
        reply = REPLIES.get(message[2])
        transport.send(WSMsgType.TEXT, orjson.dumps([3, message[1], reply() if reply else {}]))


class Responder201(WSListener):  # type: ignore[misc]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        message = orjson.loads(frame.get_payload_as_bytes())
        reply = REPLIES_201.get(message[2])
        transport.send(WSMsgType.TEXT, orjson.dumps([3, message[1], reply(message[3]) if reply else {}]))


RESPONDERS: dict[str, type[WSListener]] = {"ocpp1.6": Responder, "ocpp2.0.1": Responder201}


def subprotocol(request: WSUpgradeRequest) -> str:
    """The highest OCPP version the charger offers of those the floor speaks, as voltyard picks one
    (ocpp1.6 if it offers neither)."""
    offered = {name.strip() for name in (request.headers.get("Sec-WebSocket-Protocol") or "").split(",")}
    return "ocpp2.0.1" if "ocpp2.0.1" in offered else "ocpp1.6"


async def main(port: int) -> None:
    def accept(request: WSUpgradeRequest) -> WSUpgradeResponseWithListener:
        chosen = subprotocol(request)
        response = WSUpgradeResponse.create_101_response(extra_headers={"Sec-WebSocket-Protocol": chosen})
        return WSUpgradeResponseWithListener(response, RESPONDERS[chosen]())

    server = await ws_create_server(accept, "127.0.0.1", port)
    print(f"floor ready on {port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
