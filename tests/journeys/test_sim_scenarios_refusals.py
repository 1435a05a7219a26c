"""Scenarios that expect refusals and a charger-driven firmware update, against a real `voltyard serve`
(the installed entry point, as a user runs it), for 1.6, 2.0.1 and 2.1.

auth_failure: a default appliance (unknown_id_tag = "reject") refuses every unknown tag and answers each
malformed frame with the version's CALLERROR. firmware_update: the test sends UpdateFirmware through the
appliance's control API, and the simulated charger walks its FirmwareStatusNotification sequence and
reboots.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.journeys.appliance import RunningAppliance, voltyard_bin

PROTOCOLS = {"1.6": "P16", "2.0.1": "P201", "2.1": "P21"}
_FIRMWARE_URL = "https://fw.example.test/sim.bin"


def _sim(
    appliance: RunningAppliance, tmp_path: Path, scenario: str, protocol: str, seconds: int
) -> list[str]:
    prefix = f"{scenario[:2].upper()}{PROTOCOLS[protocol]}X"
    return [
        str(voltyard_bin()), "sim", "run", "--url", appliance.ocpp_url, "--protocol", protocol,
        "--chargers", "2", "--connectors", "2", "--scenario", scenario, "--duration", str(seconds),
        "--id-prefix", prefix, "--progress", "off", "--no-plot",
        "--control-socket", str(tmp_path / f"{scenario}-{protocol}.sock"),
    ]  # fmt: skip


def _finish(runs: dict[str, subprocess.Popen[str]]) -> dict[str, tuple[int, str, str]]:
    try:
        return {key: (process.wait(180), *process.communicate(timeout=180)) for key, process in runs.items()}
    finally:
        for process in runs.values():
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_auth_failure_refuses_unknown_tags_and_answers_malformed_frames(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start()  # the default policy: unknown id tags are rejected
    try:
        runs = {
            protocol: subprocess.Popen(
                _sim(appliance, tmp_path, "auth_failure", protocol, 8),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for protocol in PROTOCOLS
        }
        results = _finish(runs)
        transactions = appliance.api("GET", "/transactions")
    finally:
        appliance.stop()
    for protocol, (code, out, err) in results.items():
        assert code == 0, f"{protocol}:\n{out}\n{err}"
        assert "FAIL" not in out, out
        assert "PASS refused_tags: 4 tags refused of 4 expected" in out, out
        spelled = "FormationViolation" if protocol == "1.6" else "FormatViolation"
        assert f"'Heartbeat:{spelled}': 2" in out, out
        assert "PASS callerrors FormationViolation: 2 calls answered" in out, out
    # No session was started with an unknown tag on the appliance's side either.
    assert transactions.status == 200, transactions
    assert transactions.json["total"] == 0, transactions


def test_auth_failure_fails_against_a_central_system_that_accepts_every_tag(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config='[ocpp]\nunknown_id_tag = "accept"\n')
    try:
        results = _finish(
            {
                "1.6": subprocess.Popen(
                    _sim(appliance, tmp_path, "auth_failure", "1.6", 6),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            }
        )
    finally:
        appliance.stop()
    code, out, _err = results["1.6"]
    assert code != 0, out
    assert "FAIL refused_tags: 0 tags refused of 4 expected" in out, out
    assert "unknown-id-tag policy `reject`" in out, out


def _update_firmware(appliance: RunningAppliance, charger: str, protocol: str) -> None:
    """UpdateFirmware through the control API, once the charger is connected (hang guard: 30 s)."""
    body = (
        {"location": _FIRMWARE_URL, "retrieveDate": "2026-01-01T00:00:00Z"}
        if protocol == "1.6"
        else {
            "requestId": 42,
            "firmware": {"location": _FIRMWARE_URL, "retrieveDateTime": "2026-01-01T00:00:00Z"},
        }
    )
    deadline = time.monotonic() + 30
    while True:
        answer = appliance.api("POST", f"/chargers/{charger}/commands/UpdateFirmware", body)
        if answer.status == 200:
            return
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_firmware_update_is_walked_by_the_charger(tmp_path: Path, protocol: str) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start()
    try:
        command = _sim(appliance, tmp_path, "firmware_update", protocol, 10)
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            prefix = command[command.index("--id-prefix") + 1]
            for index in range(2):
                _update_firmware(appliance, f"{prefix}{index:05d}", protocol)
        finally:
            results = _finish({protocol: run})
    finally:
        appliance.stop()
    code, out, err = results[protocol]
    assert code == 0, f"{out}\n{err}"
    assert "FAIL" not in out, out
    assert "PASS firmware_updated: 2 UpdateFirmware accepted; 8 FirmwareStatusNotification answered" in out
    assert "2 Installed; 2/2 booted" in out, out


def test_firmware_update_fails_when_the_central_system_sends_none(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start()
    try:
        results = _finish(
            {
                "1.6": subprocess.Popen(
                    _sim(appliance, tmp_path, "firmware_update", "1.6", 3),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            }
        )
    finally:
        appliance.stop()
    code, out, _err = results["1.6"]
    assert code != 0, out
    assert "FAIL firmware_updated: 0 UpdateFirmware accepted" in out, out
    assert "POST /api/v1/chargers/{id}/commands/UpdateFirmware" in out, out
