"""An operator configures the DC cabinet's PLCs through the control API (issue 19, Done-when 4):
`voltyard serve` with a real config file and simulated PLCs; GetConfiguration and ChangeConfiguration
posted to the cabinet's charge point over HTTP are ConfigCmd round trips to the PLC (the host keeps no
copy, so a value read back is the PLC's), and what the cabinet does not have or cannot do gets OCPP
1.6's answer (docs/can.md, "The cabinet's charge point")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.journeys.appliance import RunningAppliance

CABINET = """
[cabinet]
charge_point_id = "CABINET"
simulate_plcs = true
bus = { interface = "virtual", channel = "voltyard-journey-cabcfg" }
guns = [{ connector_id = 1, plc_id = 0 }, { connector_id = 2, plc_id = 1 }]
"""


def command(appliance: RunningAppliance, action: str, body: dict[str, Any]) -> Any:
    answer = appliance.api("POST", f"/chargers/CABINET/commands/{action}", body)
    assert answer.status == 200, answer
    return answer.json["answer"]


def test_operator_reads_and_changes_a_plc_parameter_over_http(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=CABINET)
    try:
        appliance.wait_for(
            lambda: all(g["comm_ok"] for g in appliance.api("GET", "/cabinet").json["guns"]),
            timeout=30,
            what="both PLC links up",
        )
        assert command(appliance, "GetConfiguration", {"key": ["Gun2.DebounceMs"]}) == {
            "configurationKey": [{"key": "Gun2.DebounceMs", "readonly": False, "value": "20"}]
        }
        assert command(appliance, "ChangeConfiguration", {"key": "Gun2.DebounceMs", "value": "40"}) == {
            "status": "Accepted"
        }
        # Read back from PLC 1; gun 1's PLC kept its own value.
        read = command(appliance, "GetConfiguration", {"key": ["Gun2.DebounceMs", "Gun1.DebounceMs", "Nope"]})
        assert read == {
            "configurationKey": [
                {"key": "Gun2.DebounceMs", "readonly": False, "value": "40"},
                {"key": "Gun1.DebounceMs", "readonly": False, "value": "20"},
            ],
            "unknownKey": ["Nope"],
        }
        every = command(appliance, "GetConfiguration", {})["configurationKey"]
        assert len(every) == 16, every
        assert all("value" in k for k in every), every

        # What the cabinet cannot take: nothing changes on the PLC.
        for body, status in (
            ({"key": "Gun2.DebounceMs", "value": "1000"}, "Rejected"),  # out of 5-100
            ({"key": "Gun2.FirmwareVersion", "value": "9.9.9"}, "Rejected"),  # read-only
            ({"key": "MeterValueSampleInterval", "value": "10"}, "NotSupported"),
        ):
            assert command(appliance, "ChangeConfiguration", body) == {"status": status}, body
        assert command(appliance, "GetConfiguration", {"key": ["Gun2.DebounceMs"]})["configurationKey"] == [
            {"key": "Gun2.DebounceMs", "readonly": False, "value": "40"}
        ]
        assert command(appliance, "Reset", {"type": "Hard"}) == {"status": "Rejected"}
        firmware = appliance.api(
            "POST",
            "/chargers/CABINET/commands/UpdateFirmware",
            {"location": "http://127.0.0.1:9/fw.bin", "retrieveDate": "2026-12-07T00:00:00Z"},
        )
        assert firmware.status == 502, firmware
        assert firmware.json["error"]["details"]["error_code"] == "NotSupported"
    finally:
        assert appliance.stop() == 0
