"""Under `unknown_charger = "reject"`, unknown ids leave nothing behind but a counted refusal (issue 17,
finding 7).

3 000 handshakes with random ids used to create 3 000 charger records and their events. Against a real
`voltyard serve` on a store that knows one charger: strangers get 404 at the handshake, the known charger
still gets in, and afterwards the store holds no row and no event of any stranger; /metrics counts them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
import websockets

from tests.journeys.appliance import RunningAppliance

STRANGERS = 200
HANG_GUARD = 30
BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}


async def _boot(url: str) -> str:
    async with websockets.connect(url, subprotocols=["ocpp1.6"], open_timeout=HANG_GUARD) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps([2, "boot", "BootNotification", BOOT]))
        answer = json.loads(await asyncio.wait_for(ws.recv(), HANG_GUARD))
        status: str = answer[2]["status"]
        return status


async def _refused_with(url: str) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, subprotocols=["ocpp1.6"], open_timeout=HANG_GUARD):  # type: ignore[list-item]
            pass
    status: int = refused.value.response.status_code
    return status


def _metric(server: RunningAppliance, name: str) -> float:
    request = urllib.request.Request(
        f"{server.api_url}/metrics", headers={"Authorization": f"Bearer {server.token('readonly')}"}
    )
    with urllib.request.urlopen(request, timeout=HANG_GUARD) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


async def test_unknown_ids_under_reject_leave_only_a_count(tmp_path: Path) -> None:
    data = tmp_path / "site"
    first = RunningAppliance(data)  # the site's one charger joins while unknown chargers are accepted
    first.start()
    try:
        assert await _boot(f"{first.ocpp_url}/CP-KNOWN") == "Accepted"
    finally:
        assert first.stop() == 0

    server = RunningAppliance(data)
    server.start(config='[ocpp]\nunknown_charger = "reject"\n')
    try:
        strangers = [f"STRANGER-{secrets.token_hex(6)}" for _ in range(STRANGERS)]
        statuses = [await _refused_with(f"{server.ocpp_url}/{charger_id}") for charger_id in strangers]
        assert set(statuses) == {404}
        assert await _boot(f"{server.ocpp_url}/CP-KNOWN") == "Accepted"  # known chargers still get in
        assert _metric(server, "voltyard_handshakes_refused_unknown_total") == STRANGERS
        chargers = server.api("GET", "/chargers?limit=1000").json
        assert [item["id"] for item in chargers["items"]] == ["CP-KNOWN"]
    finally:
        assert server.stop() == 0  # flushes the store
    with closing(sqlite3.connect(data / "voltyard.db")) as db:
        assert db.execute("SELECT id FROM chargers").fetchall() == [("CP-KNOWN",)]
        for table in ("events", "message_log", "connectors", "status_history"):
            left = db.execute(f"SELECT COUNT(*) FROM {table} WHERE charger_id LIKE 'STRANGER-%'").fetchone()[
                0
            ]
            assert left == 0, table
