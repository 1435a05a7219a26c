"""A charger cannot write into another charger's transaction (issue 17, finding 2).

MeterValues naming another charger's transactionId were stored against it, and reconciliation after that
charger's reboot billed the intruder's energy. Each check runs against a real `voltyard serve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.test_storage_never_dies import charger, events, rpc, start
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


def reading(transaction_id: int, energy_wh: int) -> dict[str, object]:
    sampled = [{"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": NOW, "sampledValue": sampled}],
    }


async def test_an_intruders_readings_are_not_billed_when_the_owner_reboots(server: RunningAppliance) -> None:
    owner, intruder = await charger(server, "CP-OWNER"), await charger(server, "CP-INTRUDER")
    try:
        transaction_id = await start(owner)  # meterStart 100
        assert (await rpc(owner, "m1", "MeterValues", reading(transaction_id, 1250)))[0] == 3
        answer = await rpc(intruder, "m2", "MeterValues", reading(transaction_id, 99_999_999))
        assert answer[:3] == [3, "m2", {}], answer  # answered: a charger that retries forever helps no one
        boot = await rpc(
            owner, "boot2", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
        )
        assert boot[2]["status"] == "Accepted"
        for _ in range(200):
            detail = server.api("GET", f"/transactions/{transaction_id}", role="readonly").json
            if detail["stop_flag"] == "Reconciled":
                break
            await asyncio.sleep(0.05)
        assert detail["stop_flag"] == "Reconciled", detail
        assert detail["meter_stop"] == 1250, f"the intruder's energy was billed: {detail}"
        energies = [value["energy_wh"] for value in detail["meter_values"]]
        assert energies == [1250], f"another charger's readings shown as the transaction's: {energies}"
        # Flagged, and the intruder's readings are kept as its own.
        warnings = [e for e in events(server, "Warning") if e["charger_id"] == "CP-INTRUDER"]
        assert [w["data"].get("kind") for w in warnings] == ["ForeignTransaction"], warnings
        assert "CP-INTRUDER sent MeterValues naming transaction" in server.text, "no log line"
    finally:
        await owner.close()
        await intruder.close()
