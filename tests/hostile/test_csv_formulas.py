"""The message-log CSV export neutralises formula cells (issue 17, finding 4).

A charger id (the OCPP charset allows = + - @) and a message id (any string) come from the charger; a
spreadsheet opening the export ran `=...`, `+...`, `-...` or `@...` cells as formulas. Each such cell now
starts with a single quote (OWASP "CSV Injection"); the JSON export stays verbatim. Over a real appliance,
real websocket chargers and the API on a real socket.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
import websockets
from voltyard.api.app import create_app
from voltyard.api.tokens import ensure_tokens
from voltyard.runtime import Appliance

MESSAGE_IDS = ("=HYPERLINK(1)", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "plain")


@pytest.fixture
async def api(appliance: Appliance, aiohttp_client: Any) -> Any:
    tokens = ensure_tokens(appliance.config.server.data_dir)
    client = await aiohttp_client(create_app(appliance.api_services(), tokens))
    client.reader = {"Authorization": f"Bearer {tokens['readonly']}"}
    return client


async def heartbeats(port: int, charger_id: str) -> None:
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{charger_id}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        open_timeout=30,
    ) as ws:
        for message_id in MESSAGE_IDS:
            await ws.send(json.dumps([2, message_id, "Heartbeat", {}]))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert answer[:2] == [3, message_id], answer


async def test_csv_export_cells_never_start_a_formula(appliance: Appliance, api: Any) -> None:
    for charger_id in ("=CP", "+CP", "-CP", "@CP"):
        await heartbeats(appliance.ocpp_port, charger_id)
    await appliance.store.flush()
    response = await api.get("/api/v1/messages/export?format=csv", headers=api.reader)
    assert response.status == 200, await response.text()
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 4 * len(MESSAGE_IDS)
    for row in rows:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    assert {row["charger_id"] for row in rows} == {"'=CP", "'+CP", "'-CP", "'@CP"}
    quoted = {"'" + message_id for message_id in MESSAGE_IDS if message_id != "plain"}
    assert {row["message_id"] for row in rows} == quoted | {"plain"}
    # The frames (JSON text) are untouched: a frame starts with "[".
    assert all(json.loads(row["frame"])[2] == "Heartbeat" for row in rows)
    # JSON keeps every value as the charger sent it.
    response = await api.get("/api/v1/messages/export?format=json", headers=api.reader)
    items = (await response.json())["items"]
    assert {item["charger_id"] for item in items} == {"=CP", "+CP", "-CP", "@CP"}
    assert {item["message_id"] for item in items} == set(MESSAGE_IDS)
