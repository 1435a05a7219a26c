"""Every built-in scenario with 2.0.1 and 2.1 chargers against a real `voltyard serve` (the installed entry
point, one subprocess per run, all at once against one appliance): each run's expectations hold.

1.6 runs the same scenarios in tests/integration/test_sim_scenarios.py; power_saturation, which needs the
site power manager, is in test_sim2x_fleets.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.journeys.appliance import RunningAppliance, voltyard_bin

# scenario -> seconds: demo is written in seconds and needs 30 s at least.
SCENARIOS = {
    "basic_charge": 10, "morning_rush": 10, "fault_injection": 10, "reconnect_storm": 12,
    "offline_replay": 12, "idle": 5, "demo": 32,
}  # fmt: skip


def test_every_scenario_passes_with_a_2_0_1_and_2_1_fleet(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config='[ocpp]\nunknown_id_tag = "accept"\n')
    runs: dict[str, subprocess.Popen[str]] = {}
    try:
        for number, (scenario, seconds) in enumerate(SCENARIOS.items()):
            command = [
                str(voltyard_bin()), "sim", "run", "--url", appliance.ocpp_url, "--protocol", "2.0.1:1,2.1:1",
                "--chargers", "2", "--connectors", "2", "--scenario", scenario, "--duration", str(seconds),
                "--id-prefix", f"S{number}X", "--progress", "off", "--no-plot",
                "--control-socket", str(tmp_path / f"{scenario}.sock"),
            ]  # fmt: skip
            runs[scenario] = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        results = {
            scenario: (process, *process.communicate(timeout=180)) for scenario, process in runs.items()
        }
    finally:
        for process in runs.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
        appliance.stop()
    for scenario, (process, out, err) in results.items():
        assert process.returncode == 0, f"{scenario}:\n{out}\n{err}"
        assert out.splitlines()[0].endswith("; OCPP 2.0.1 x1, 2.1 x1"), out
        assert "FAIL" not in out
