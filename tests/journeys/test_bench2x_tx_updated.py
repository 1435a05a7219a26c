"""A 2.0.1 charger's in-order Updated TransactionEvents on the installed `voltyard serve` (issue 20): answered
without a durable write of their own, yet each stored once with its readings, across a restart and a replay.

The charger starts a transaction and sends Updated events in order (answered at once, committed within the
store's commit interval with their readings in the meter log), replays one (stored once), then the server
is stopped and started again on the same data dir: the charger replays the last Updated (the new process
does not know it: the store finds it stored) and goes on to its Ended. The API's transaction shows every
reading once and the meter stop read from the last Updated.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.journeys.appliance import RunningAppliance

HANG_GUARD = 30
NOW = "2026-11-25T10:00:00Z"


def _event(event_type: str, seq_no: int, kwh: float | None = None, kw: float | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": event_type, "timestamp": NOW, "triggerReason": "MeterValuePeriodic", "seqNo": seq_no,
        "transactionInfo": {"transactionId": "B2X-TX-1"}, "evse": {"id": 1, "connectorId": 1},
    }  # fmt: skip
    sampled = [] if kwh is None else [{"value": kwh, "unitOfMeasure": {"unit": "kWh"}}]
    if kw is not None:
        sampled.append({"value": kw, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}})
    if sampled:
        event["meterValue"] = [{"timestamp": NOW, "sampledValue": sampled}]
    return event


async def _charger(appliance: RunningAppliance, events: list[dict[str, Any]]) -> list[Any]:
    """Boot, send `events` one at a time; the answers."""
    answers = []
    async with websockets.connect(
        f"{appliance.ocpp_url}/CP-B2X",
        subprotocols=["ocpp2.0.1"],
        open_timeout=HANG_GUARD,  # type: ignore[list-item]
    ) as ws:
        boot = {"chargingStation": {"model": "B", "vendorName": "Bench"}, "reason": "PowerUp"}
        for number, (action, payload) in enumerate([("BootNotification", boot)] + [
            ("TransactionEvent", event) for event in events
        ]):  # fmt: skip
            await ws.send(json.dumps([2, f"m-{number}", action, payload]))
            answers.append(json.loads(await ws.recv()))
    return answers[1:]


def test_updated_events_are_stored_once_across_a_replay_and_a_restart(appliance: RunningAppliance) -> None:
    first = [_event("Started", 0, 1.0), _event("Updated", 1, 2.0, 7.0), _event("Updated", 2, 3.0),
             _event("Updated", 2, 3.0)]  # fmt: skip
    answers = asyncio.run(asyncio.wait_for(_charger(appliance, first), HANG_GUARD))
    assert [answer[:2] for answer in answers] == [[3, f"m-{n}"] for n in range(1, 5)], answers
    assert appliance.stop() == 0, appliance.text
    restarted = RunningAppliance(appliance.data_dir)
    restarted.start()
    try:
        then = [_event("Updated", 2, 3.0), _event("Updated", 3, 4.0), _event("Ended", 4)]
        answers = asyncio.run(asyncio.wait_for(_charger(restarted, then), HANG_GUARD))
        assert [answer[0] for answer in answers] == [3, 3, 3], answers
        (listed,) = restarted.api("GET", "/transactions?charger_id=CP-B2X").json["items"]
        assert (listed["charger_transaction_id"], listed["active"]) == ("B2X-TX-1", False)
        assert (listed["meter_start"], listed["meter_stop"]) == (1000, 4000), (
            "the Ended carried no reading: its meter stop is the last Updated's"
        )
        detail = restarted.api("GET", f"/transactions/{listed['id']}").json
        readings = sorted((m["energy_wh"], m["power_w"]) for m in detail["meter_values"])
        assert readings == [(1000.0, None), (2000.0, 7000.0), (3000.0, None), (4000.0, None)], (
            "each reading once: the replays, before and after the restart, stored nothing again"
        )
    finally:
        assert restarted.stop() == 0, restarted.text
