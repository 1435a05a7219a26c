"""Per-charger leniency: each rule tolerates its deviation when enabled (counted), and the spec's CALLERROR
answers it when not."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing

import pytest
from voltyard.runtime import Appliance
from voltyard.store.meter_log import meter_readings

from tests.e2e.peer import open_websocket

NOW = "2026-11-25T10:00:00Z"
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Volt-1"}

CASES = {
    "numeric_sampled_value": (
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": 12.5, "unit": "kWh"}]}],
        },
        "TypeConstraintViolation",
    ),
    "long_serial_numbers": ("BootNotification", {**BOOT, "chargePointSerialNumber": "S" * 40}, None),
    "unknown_enum_values": (
        "StatusNotification",
        {"connectorId": 1, "errorCode": "BrokenPlug", "status": "Faulted"},
        "PropertyConstraintViolation",
    ),
    "single_object_as_array": (
        "MeterValues",
        {"connectorId": 1, "meterValue": {"timestamp": NOW, "sampledValue": {"value": "3", "unit": "kWh"}}},
        "TypeConstraintViolation",
    ),
}


async def exchange(appliance, charger_id: str, action: str, payload: dict) -> list:
    ws = await open_websocket(appliance.ocpp_port, charger_id)
    try:
        await ws.send(json.dumps([2, "boot", "BootNotification", BOOT]))
        await asyncio.wait_for(ws.recv(), 5)
        await ws.send(json.dumps([2, "m1", action, payload]))
        return json.loads(await asyncio.wait_for(ws.recv(), 5))
    finally:
        await ws.close()


@pytest.mark.parametrize("rule", sorted(CASES))
async def test_strict_by_default(appliance, rule: str) -> None:
    action, payload, code = CASES[rule]
    answer = await exchange(appliance, f"CP-STRICT-{rule}", action, payload)
    assert answer[0] == 4
    if code is not None:
        assert answer[2] == code
    assert appliance.gateway.dispatcher.leniency.counts == {}


@pytest.mark.parametrize("rule", sorted(CASES))
async def test_enabled_rule_repairs_and_counts(appliance, rule: str) -> None:
    charger_id = f"CP-LENIENT-{rule}"
    await appliance.services.chargers.set_limits(charger_id, max_frame_size=None, leniency=(rule,))
    action, payload, _ = CASES[rule]
    answer = await exchange(appliance, charger_id, action, payload)
    assert answer[0] == 3, answer
    assert appliance.gateway.dispatcher.leniency.counts[charger_id, rule] == 1
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        if action == "MeterValues":
            (reading,) = meter_readings(db, charger_id=charger_id)
            assert isinstance(json.loads(reading.sampled_value)[0]["value"], str)
        if rule == "unknown_enum_values":
            row = db.execute(
                "SELECT error_code, vendor_error_code FROM connectors WHERE charger_id = ?", (charger_id,)
            )
            assert row.fetchone() == ("OtherError", "BrokenPlug")
        if rule == "long_serial_numbers":
            row = db.execute("SELECT serial_number FROM chargers WHERE id = ?", (charger_id,)).fetchone()
            assert row == ("S" * 25,)


async def test_rules_by_vendor_and_model_from_config(appliance_config) -> None:
    config = appliance_config(leniency={"by_model": {"Acme/Volt-1": ["numeric_sampled_value"]}})
    running = Appliance(config)
    await running.start()
    try:
        action, payload, _ = CASES["numeric_sampled_value"]
        assert (await exchange(running, "CP-ACME", action, payload))[0] == 3
        # A rule the model does not have still refuses.
        action, payload, _ = CASES["single_object_as_array"]
        assert (await exchange(running, "CP-ACME", action, payload))[0] == 4
    finally:
        await running.stop()


async def test_a_repair_that_does_not_make_the_frame_valid_is_still_refused(appliance) -> None:
    await appliance.services.chargers.set_limits(
        "CP-HOPELESS", max_frame_size=None, leniency=("numeric_sampled_value",)
    )
    payload = {"connectorId": 1, "meterValue": [{"sampledValue": [{"value": 12.5}]}]}  # no timestamp either
    answer = await exchange(appliance, "CP-HOPELESS", "MeterValues", payload)
    assert answer[0] == 4
    assert answer[2] == "OccurenceConstraintViolation"
