"""Times are compared as instants, never as text (issue 17, finding 3).

Reconciliation compared ISO timestamps textually: a stale StatusNotification with a `+01:00` offset closed a
live session, and a start with a `+05:00` offset kept a zombie open. An empty timestamp is refused with the
spec's CALLERROR and nothing is stored. Each check runs against a real `voltyard serve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.test_storage_never_dies import charger, health, rpc
from tests.journeys.appliance import RunningAppliance


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningAppliance]:
    running = RunningAppliance(tmp_path / "site")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def begin(timestamp: str) -> dict[str, Any]:
    return {"connectorId": 1, "idTag": "TAG", "meterStart": 100, "timestamp": timestamp}


def available(timestamp: str) -> dict[str, Any]:
    return {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": timestamp}


def transaction(server: RunningAppliance, transaction_id: int) -> dict[str, Any]:
    answer = server.api("GET", f"/transactions/{transaction_id}", role="readonly")
    assert answer.status == 200, answer
    body: dict[str, Any] = answer.json
    return body


async def test_a_stale_status_with_an_offset_leaves_a_live_session_open(server: RunningAppliance) -> None:
    ws = await charger(server, "CP-STALE")
    try:
        started = await rpc(ws, "s", "StartTransaction", begin("2026-11-25T10:00:00Z"))
        transaction_id = started[2]["transactionId"]
        # 10:30+01:00 is 09:30Z: half an hour before the start, a status from before the session.
        assert (await rpc(ws, "n", "StatusNotification", available("2026-11-25T10:30:00+01:00")))[0] == 3
        # A durable write after it: whatever the status closed is on disk by its answer.
        assert (await rpc(ws, "s2", "StartTransaction", {**begin("2026-11-25T10:40:00Z"), "connectorId": 2}))[
            0
        ] == 3
        assert transaction(server, transaction_id)["stop_flag"] is None, (
            "a stale status closed a live session"
        )
        assert health(server)["transactions"]["active"] == 2
    finally:
        await ws.close()


async def test_a_start_with_an_offset_is_a_zombie_once_a_later_status_comes(server: RunningAppliance) -> None:
    ws = await charger(server, "CP-ZOMBIE")
    try:
        # 12:00+05:00 is 07:00Z: three hours before the status that says the connector is free.
        started = await rpc(ws, "s", "StartTransaction", begin("2026-11-25T12:00:00+05:00"))
        transaction_id = started[2]["transactionId"]
        assert (await rpc(ws, "n", "StatusNotification", available("2026-11-25T10:00:00Z")))[0] == 3
        assert (await rpc(ws, "s2", "StartTransaction", {**begin("2026-11-25T10:40:00Z"), "connectorId": 2}))[
            0
        ] == 3
        assert transaction(server, transaction_id)["stop_flag"] == "Reconciled", "the zombie stayed open"
        assert health(server)["transactions"]["active"] == 1
    finally:
        await ws.close()


@pytest.mark.parametrize("timestamp", ["", "not a time", "2026-11-25T10:00:00", "2026-02-30T10:00:00Z"])
async def test_an_invalid_timestamp_is_refused_and_nothing_is_stored(
    server: RunningAppliance, timestamp: str
) -> None:
    ws = await charger(server, "CP-EMPTY")
    try:
        answer = await rpc(ws, "s", "StartTransaction", begin(timestamp))
        assert answer[:3] == [4, "s", "PropertyConstraintViolation"], answer
        assert "/timestamp" in answer[3], answer
        answer = await rpc(ws, "n", "StatusNotification", available(timestamp))
        assert answer[:3] == [4, "n", "PropertyConstraintViolation"], answer
        listed = server.api("GET", "/transactions", role="readonly").json
        assert listed["items"] == [], listed
        assert health(server)["transactions"]["active"] == 0
    finally:
        await ws.close()
