"""Wrong answers about transactions (issue 17, finding 8): a phantom active transaction when a stop is
pipelined before its start's answer, and far-off MeterValues timestamps that raised no ClockSkew. Each check
runs against a real `voltyard serve`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.test_storage_never_dies import charger, events, health, rpc, start
from tests.journeys.appliance import RunningAppliance

NOW = "2026-11-25T10:00:00Z"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningAppliance]:
    running = RunningAppliance(tmp_path / "site")
    running.start()
    try:
        yield running
    finally:
        running.stop()


async def test_a_stop_pipelined_before_its_starts_answer_leaves_no_active_transaction(
    server: RunningAppliance,
) -> None:
    ws = await charger(server, "CP-PIPE")
    try:
        first = await start(ws, "s0")
        stop = {"transactionId": first, "meterStop": 150, "timestamp": NOW}
        assert (await rpc(ws, "t0", "StopTransaction", stop))[0] == 3
        # Ids are handed out in order: the charger names the next in a stop sent before the start's answer.
        begin = {"connectorId": 1, "idTag": "TAG", "meterStart": 200, "timestamp": "2026-11-25T10:05:00Z"}
        await ws.send(json.dumps([2, "s1", "StartTransaction", begin]))
        stop = {"transactionId": first + 1, "meterStop": 300, "timestamp": "2026-11-25T10:06:00Z"}
        await ws.send(json.dumps([2, "t1", "StopTransaction", stop]))
        answers = {}
        for _ in range(2):
            answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
            answers[answer[1]] = answer
        assert answers["s1"][2]["transactionId"] == first + 1, answers
        assert answers["t1"][0] == 3, answers
        detail = server.api("GET", f"/transactions/{first + 1}", role="readonly").json
        assert detail["stop_flag"] is None, detail
        assert detail["meter_stop"] == 300, detail
        assert health(server)["transactions"]["active"] == 0, "a phantom active transaction"
    finally:
        await ws.close()


async def test_far_off_meter_values_timestamps_raise_one_clock_skew(server: RunningAppliance) -> None:
    ws = await charger(server, "CP-SKEW")
    try:
        transaction_id = await start(ws)
        for n in range(3):
            sampled = [{"value": str(1000 + n), "measurand": "Energy.Active.Import.Register"}]
            value = {"timestamp": "2039-01-01T00:00:00Z", "sampledValue": sampled}
            values = {"connectorId": 1, "transactionId": transaction_id, "meterValue": [value]}
            assert (await rpc(ws, f"m{n}", "MeterValues", values))[0] == 3
        skews = []
        for _ in range(100):
            skews = [e for e in events(server, "ClockSkew") if e["charger_id"] == "CP-SKEW"]
            if skews:
                break
            await asyncio.sleep(0.05)
        assert [e["data"] for e in skews] == [{"timestamp": "2039-01-01T00:00:00Z", "in": "MeterValues"}], (
            skews
        )
    finally:
        await ws.close()
