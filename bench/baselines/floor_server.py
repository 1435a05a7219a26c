"""The floor: a bare picows + orjson OCPP-J responder on uvloop.

It parses each frame with orjson and answers a CALLRESULT with the minimal valid payload of the action:
no envelope checks, no schema validation, no state, no persistence. Nothing can answer OCPP calls for
less CPU in Python, so the central system's cost is quoted as a multiple of this one's.

Usage: python bench/baselines/floor_server.py PORT
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server


def now() -> str:
    return datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


REPLIES = {
    "BootNotification": lambda: {"status": "Accepted", "currentTime": now(), "interval": 300},
    "Heartbeat": lambda: {"currentTime": now()},
}


class Responder(WSListener):  # type: ignore[misc]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        message = orjson.loads(frame.get_payload_as_bytes())
        reply = REPLIES.get(message[2])
        transport.send(WSMsgType.TEXT, orjson.dumps([3, message[1], reply() if reply else {}]))


async def main(port: int) -> None:
    def accept(request: WSUpgradeRequest) -> Responder:
        return Responder()

    server = await ws_create_server(accept, "127.0.0.1", port)
    print(f"floor ready on {port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
