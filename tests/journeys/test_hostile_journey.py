"""Issue 17's quick findings as a user meets them on a real `voltyard serve`: a charger sending a CSMS-only
action, ids `.`/`..`, a garbled bearer token, a bracket bomb, a bad stream filter, a formula in a CSV export
and a key rotation watched by a read-only stream client."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any
from urllib.parse import urlsplit

import msgpack
import pytest
import websockets
from aiohttp import ClientSession, WSMsgType

from tests.journeys.appliance import RunningAppliance

NEW_KEY = "fedcba9876543210fedcba9876543210fedcba98"


async def rpc(ws: Any, message_id: str, action: str, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([2, message_id, action, payload]))
    answer: list[Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
    return answer


async def charger_side(appliance: RunningAppliance) -> None:
    for charger_id in (".", ".."):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{appliance.ocpp_url}/{charger_id}", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
        assert refused.value.response.status_code == 404
    async with websockets.connect(f"{appliance.ocpp_url}/=CP", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        boot = await rpc(ws, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
        assert boot[2]["status"] == "Accepted"
        answer = await rpc(ws, "=1+2", "Reset", {"type": "Hard"})
        assert answer[:3] == [4, "=1+2", "NotSupported"], answer


async def rotate_key_watched(
    appliance: RunningAppliance, session: ClientSession, operator: dict[str, str], ws: Any
) -> None:
    """Rotate =CP's AuthorizationKey while a read-only client watches MessageOut: the charger gets the key,
    the watcher only `***`."""
    async with websockets.connect(f"{appliance.ocpp_url}/=CP", subprotocols=["ocpp1.6"]) as charger:  # type: ignore[list-item]
        boot = await rpc(
            charger, "b2", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
        )
        assert boot[0] == 3
        command = asyncio.ensure_future(
            session.post(
                "/api/v1/chargers/=CP/commands/ChangeConfiguration",
                json={"key": "AuthorizationKey", "value": NEW_KEY},
                headers=operator,
            )
        )
        call = json.loads(await asyncio.wait_for(charger.recv(), 30))
        assert call[3]["value"] == NEW_KEY  # the charger itself gets the key
        await charger.send(json.dumps([3, call[1], {"status": "Accepted"}]))
        async with await command as response:
            assert response.status == 200, await response.text()
    while True:
        event = msgpack.unpackb((await asyncio.wait_for(ws.receive(), 30)).data)
        assert NEW_KEY not in str(event)
        if event["data"]["action"] == "ChangeConfiguration":
            assert '"value":"***"' in event["data"]["frame"], event
            return


async def api_side(appliance: RunningAppliance) -> None:
    url = urlsplit(appliance.api_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \xff\r\n\r\n"
    )
    head = (await asyncio.wait_for(reader.read(), 30)).split(b"\r\n", 1)[0]
    writer.close()
    await writer.wait_closed()
    assert head.split(b" ")[1] == b"401", head
    reader_auth = {"Authorization": f"Bearer {appliance.token('readonly')}"}
    operator = {"Authorization": f"Bearer {appliance.token('operator')}"}
    async with ClientSession(appliance.api_url) as session:
        deep = "[" * 100_000 + "]" * 100_000
        async with session.put(
            "/api/v1/site", data=deep, headers={**operator, "Content-Type": "application/json"}
        ) as response:
            assert response.status == 400
            assert "nested" in (await response.json())["error"]["message"]
        async with session.ws_connect("/api/v1/stream", headers=reader_auth) as ws:
            await ws.send_bytes(msgpack.packb({"kinds": 5}))
            closed = await asyncio.wait_for(ws.receive(), 30)
            assert closed.type is WSMsgType.CLOSE, closed
            assert "kinds" in closed.extra, closed
        async with session.ws_connect(
            "/api/v1/stream?kinds=MessageOut&chargers==CP", headers=reader_auth
        ) as ws:
            await rotate_key_watched(appliance, session, operator, ws)
        async with session.get("/api/v1/messages/export?format=csv", headers=reader_auth) as response:
            rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert {row["charger_id"] for row in rows} == {"'=CP"}
    assert "'=1+2" in {row["message_id"] for row in rows}


def test_hostile_input_gets_clear_answers(appliance: RunningAppliance) -> None:
    asyncio.run(charger_side(appliance))
    asyncio.run(api_side(appliance))
    assert appliance.api("GET", "/health", role="readonly").status == 200
    assert "Traceback" not in appliance.text, appliance.text[-4000:]
