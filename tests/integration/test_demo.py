"""`voltyard demo --no-tui`: server, API and a simulated fleet start together and stop together."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow  # the whole demo: server, API and fleet processes
def test_headless_demo_runs_a_scenario_and_stops_cleanly(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voltyard.cli", "demo", "--no-tui", "--chargers", "3", "--connectors", "1",
         "--duration", "4", "--scenario", "idle", "--data-dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert "voltyard ready" in result.stderr
    assert "PASS all_back" in result.stdout
    assert (tmp_path / "demo" / "voltyard.db").exists()
    assert (tmp_path / "demo" / "api-token-operator").exists()
