"""`voltyard sim` as a user runs it: against `voltyard serve` in another process, exit codes included."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from voltyard.cli import main

from tests.server_process import ServerProcess


async def sim(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltyard.cli", "sim", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def server(tmp_path: Path):
    process = ServerProcess(tmp_path / "data")
    await process.start()
    yield process
    assert await process.stop() == 0


async def test_passing_run_exits_0_and_writes_the_report(server, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, err = await sim(
        "run", "--url", f"ws://127.0.0.1:{server.port}/ocpp", "--chargers", "20", "--scenario", "idle",
        "--duration", "3", "--load", "rate", "--rate", "200", "--report", str(report), "--progress", "plain",
        "--control-socket", str(tmp_path / "ctl.sock"),
    )  # fmt: skip
    assert code == 0, out + err
    assert "PASS all_back: 20/20 online" in out
    assert "connected 20/20" in err  # the plain progress line
    document = json.loads(report.read_text())
    assert document["run"]["load"]["mode"] == "rate"
    assert 100 < document["calls"]["per_s"] < 300
    assert document["sim_cpu"]["per_call_us"] > 0
    assert set(document["by_action"]) >= {"Heartbeat", "MeterValues", "StatusNotification"}
    assert report.with_suffix(".png").exists()


async def test_failed_expectations_exit_1(server, tmp_path: Path) -> None:
    # The server's default policy refuses unknown id tags: no session can start.
    code, out, _ = await sim(
        "run", "--url", f"ws://127.0.0.1:{server.port}", "--chargers", "3", "--scenario", "basic_charge",
        "--duration", "2", "--progress", "off", "--control-socket", str(tmp_path / "ctl.sock"),
    )  # fmt: skip
    assert code == 1
    assert "FAIL sessions_complete: 0 sessions begun of 3 planned" in out
    assert "unknown-id-tag policy" in out


def test_scenarios_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "scenarios"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[:-1]]
    assert names == [
        "basic_charge", "morning_rush", "fault_injection", "power_saturation", "reconnect_storm",
        "offline_replay", "demo", "auth_failure", "firmware_update", "idle",
    ]  # fmt: skip


def test_bad_scenario_and_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "run", "--url", "ws://127.0.0.1:1", "--scenario", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nduration = -1\n")
    assert main(["sim", "run", "--url", "ws://127.0.0.1:1", "--scenario", str(bad)]) == 2
    assert f"{bad}: [scenario] duration" in capsys.readouterr().err
    assert main(["sim", "run", "--url", "ws://x", "--security-profile", "2", "--password", "p"]) == 2
    assert "needs a wss:// URL" in capsys.readouterr().err
    assert main(["sim", "run", "--url", "ws://x", "--load", "rate", "--mix", "Boot=1"]) == 2
    assert "--mix 'Boot=1'" in capsys.readouterr().err
