"""The cabinet's charge point answers GetConfiguration / ChangeConfiguration with its PLCs' runtime
parameters (issue 19, Done-when 4): sent through the control API's command route, they reach a
simulated PLC as ConfigCmd and come back confirmed by its ConfigAck; a key the cabinet does not have,
a read-only key or a value out of range gets OCPP 1.6's answer and nothing reaches the PLC. Reset,
UpdateFirmware and GetDiagnostics get the honest answers of docs/can.md."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from voltyard.api.app import create_app
from voltyard.api.tokens import ensure_tokens
from voltyard.can.config import BusConfig, CabinetConfig
from voltyard.can.frames import ConfigOp, ConfigParam
from voltyard.errors import CanConfigRejectedError
from voltyard.runtime import Appliance
from voltyard.sim.ev import EvProfile
from voltyard.sim.plc import PlcSimulator

from tests.integration.test_cabinet_appliance import cabinet_table

_channels = itertools.count()


@pytest.fixture
async def cabinet_api(appliance_config, aiohttp_client):
    channel = f"voltyard-cabcfg-{next(_channels)}"
    config = replace(appliance_config(), cabinet=CabinetConfig.from_mapping(cabinet_table(channel)))
    sim = PlcSimulator(BusConfig(interface="virtual", channel=channel), [3, 4], EvProfile())
    await sim.start()
    appliance = Appliance(config)
    await appliance.start()
    tokens = ensure_tokens(appliance.config.server.data_dir)
    client = await aiohttp_client(create_app(appliance.api_services(), tokens))
    client.operator = {"Authorization": f"Bearer {tokens['operator']}"}
    client.sim = sim
    client.appliance = appliance
    try:
        yield client
    finally:
        await appliance.stop()
        await sim.stop()


async def command(api, action: str, body: dict, status: int = 200) -> dict:
    response = await api.post(f"/api/v1/chargers/CABINET/commands/{action}", json=body, headers=api.operator)
    assert response.status == status, await response.text()
    return await response.json()


async def test_change_configuration_reaches_the_plc_and_is_confirmed(cabinet_api) -> None:
    api, plc = cabinet_api, cabinet_api.sim.plcs[4]
    answer = await command(api, "ChangeConfiguration", {"key": "Gun2.MaxCurrentA", "value": "250.5"})
    assert answer == {"action": "ChangeConfiguration", "answer": {"status": "Accepted"}}
    [sent] = plc.config_cmds
    assert (sent.cfg_param_id, sent.cfg_op, sent.cfg_value) == (
        ConfigParam.MAX_CURRENT_0p1A,
        ConfigOp.SET,
        2505,
    )
    assert plc.params[ConfigParam.MAX_CURRENT_0p1A] == 2505
    assert not cabinet_api.sim.plcs[3].config_cmds  # gun 1's PLC is not gun 2's

    # Read back from the PLC, not from a copy on the host: a GET each, the keys as asked.
    answer = await command(
        api, "GetConfiguration", {"key": ["Gun2.MaxCurrentA", "gun2.lockrequired", "Gun1.FirmwareVersion"]}
    )
    assert answer["answer"] == {
        "configurationKey": [
            {"key": "Gun2.MaxCurrentA", "readonly": False, "value": "250.5"},
            {"key": "Gun2.LockRequired", "readonly": False, "value": "true"},
            {"key": "Gun1.FirmwareVersion", "readonly": True, "value": "1.0.0"},
        ]
    }
    assert [(c.cfg_param_id, c.cfg_op) for c in plc.config_cmds[1:]] == [
        (ConfigParam.MAX_CURRENT_0p1A, ConfigOp.GET),
        (ConfigParam.LOCK_REQUIRED, ConfigOp.GET),
    ]
    assert [(c.cfg_param_id, c.cfg_op) for c in cabinet_api.sim.plcs[3].config_cmds] == [
        (ConfigParam.FW_VERSION, ConfigOp.GET)
    ]
    # As for any charger, the answer is the charger's configuration snapshot in the API.
    response = await api.get("/api/v1/chargers/CABINET", headers=api.operator)
    assert response.status == 200, await response.text()
    snapshot = {(c["key"], c["value"], c["readonly"]) for c in (await response.json())["configuration"]}
    assert ("Gun2.MaxCurrentA", "250.5", False) in snapshot
    assert ("Gun1.FirmwareVersion", "1.0.0", True) in snapshot


async def test_get_configuration_without_keys_lists_every_gun_parameter(cabinet_api) -> None:
    answer = (await command(cabinet_api, "GetConfiguration", {}))["answer"]
    keys = answer["configurationKey"]
    assert "unknownKey" not in answer
    assert len(keys) == 2 * 8
    assert {"key": "Gun1.RelayTimeoutMs", "readonly": False, "value": "300"} in keys
    assert {"key": "Gun2.StatusPeriodMs", "readonly": False, "value": "200"} in keys
    assert {"key": "Gun2.MaxVoltageV", "readonly": False, "value": "1000"} in keys
    assert all("value" in k for k in keys), keys
    assert len(cabinet_api.sim.plcs[3].config_cmds) == len(cabinet_api.sim.plcs[4].config_cmds) == 8


async def test_bad_keys_and_values_get_the_ocpp_answer_and_never_reach_the_plc(cabinet_api) -> None:
    api, sim = cabinet_api, cabinet_api.sim
    cases = [
        ({"key": "HeartbeatInterval", "value": "60"}, "NotSupported"),  # not a cabinet key
        ({"key": "Gun9.MaxCurrentA", "value": "100"}, "NotSupported"),  # no gun 9
        ({"key": "Gun1.Colour", "value": "red"}, "NotSupported"),
        ({"key": "Gun1.FirmwareVersion", "value": "2.0.0"}, "Rejected"),  # read-only
        ({"key": "Gun1.RelayTimeoutMs", "value": "5000"}, "Rejected"),  # out of 200-500
        ({"key": "Gun1.MaxCurrentA", "value": "500.1"}, "Rejected"),  # out of 0-500.0
        ({"key": "Gun1.MaxCurrentA", "value": "100.25"}, "Rejected"),  # finer than 0.1 A
        ({"key": "Gun1.MaxCurrentA", "value": "lots"}, "Rejected"),
        ({"key": "Gun1.LockRequired", "value": "maybe"}, "Rejected"),
    ]
    for body, status in cases:
        answer = await command(api, "ChangeConfiguration", body)
        assert answer["answer"] == {"status": status}, body
    answer = await command(api, "GetConfiguration", {"key": ["Gun1.DebounceMs", "Gun3.DebounceMs", "Foo"]})
    assert answer["answer"] == {
        "configurationKey": [{"key": "Gun1.DebounceMs", "readonly": False, "value": "20"}],
        "unknownKey": ["Gun3.DebounceMs", "Foo"],
    }
    assert [(c.cfg_param_id, c.cfg_op) for c in sim.plcs[3].config_cmds] == [
        (ConfigParam.DEBOUNCE_MS, ConfigOp.GET)
    ]
    assert not sim.plcs[4].config_cmds
    assert sim.plcs[3].params[ConfigParam.RELAY_TIMEOUT_MS] == 300


async def test_a_plc_that_does_not_confirm_means_rejected(cabinet_api) -> None:
    plc = cabinet_api.sim.plcs[3]
    plc.inject.mute_config = True
    answer = await command(cabinet_api, "ChangeConfiguration", {"key": "Gun1.DebounceMs", "value": "40"})
    assert answer["answer"] == {"status": "Rejected"}
    answer = await command(cabinet_api, "GetConfiguration", {"key": ["Gun1.DebounceMs"]})
    assert answer["answer"] == {"configurationKey": [{"key": "Gun1.DebounceMs", "readonly": False}]}
    assert len(plc.config_cmds) == 2  # it was asked; it did not answer


async def test_reset_firmware_and_diagnostics_are_answered_honestly(cabinet_api) -> None:
    answer = await command(cabinet_api, "Reset", {"type": "Soft"})
    assert answer["answer"] == {"status": "Rejected"}
    answer = await command(cabinet_api, "GetDiagnostics", {"location": "ftp://127.0.0.1/diag"})
    assert answer["answer"] == {}  # no fileName: nothing to upload
    error = await command(
        cabinet_api,
        "UpdateFirmware",
        {"location": "http://127.0.0.1/fw.bin", "retrieveDate": "2026-12-07T00:00:00Z"},
        status=502,
    )
    assert error["error"]["code"] == "call_error"
    assert error["error"]["details"]["error_code"] == "NotSupported"


async def test_the_simulated_plc_refuses_a_value_out_of_range_itself(cabinet_api) -> None:
    """The host never sends one (above); a PLC that gets one anyway answers BAD_VALUE and keeps its value."""
    driver = cabinet_api.appliance.cabinet.link.driver(1)
    with pytest.raises(CanConfigRejectedError, match="RELAY_TIMEOUT_MS SET refused: BAD_VALUE"):
        await driver.configure(ConfigParam.RELAY_TIMEOUT_MS, ConfigOp.SET, 5000)
    assert cabinet_api.sim.plcs[3].params[ConfigParam.RELAY_TIMEOUT_MS] == 300
    assert await driver.configure(ConfigParam.RELAY_TIMEOUT_MS, ConfigOp.SET, 400) == 400
