"""`voltyard sim stations` and `voltyard sim station ACTION ID...` as a tester runs them: against the
control socket of a running `voltyard sim run` (a subprocess) whose chargers are connected to a real
`voltyard serve`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.journeys.appliance import RunningAppliance, voltyard, voltyard_bin


def _listing(socket: Path) -> list[str]:
    result = voltyard("sim", "stations", "--control-socket", str(socket))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_tester_pauses_stops_and_starts_stations_of_a_running_fleet(
    appliance: RunningAppliance, tmp_path: Path
) -> None:
    socket = tmp_path / "ctl.sock"
    run = subprocess.Popen(
        [str(voltyard_bin()), "sim", "run", "--url", appliance.ocpp_url, "--chargers", "2",
         "--scenario", "idle", "--duration", "60", "--progress", "off", "--no-plot",
         "--control-socket", str(socket)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60  # a hang guard
        while not (socket.exists() and all("online" in line for line in _listing(socket) or ["-"])):
            assert time.monotonic() < deadline, "the run's stations never came online"
            time.sleep(0.2)
        assert len(_listing(socket)) == 2

        paused = voltyard("sim", "station", "pause", "SIM00000", "--control-socket", str(socket))
        assert (paused.returncode, paused.stdout) == (0, "SIM00000: pause done\n"), paused.stderr
        stopped = voltyard("sim", "station", "stop", "SIM00001", "--control-socket", str(socket))
        assert stopped.returncode == 0, stopped.stderr
        lines = _listing(socket)
        assert lines[0].startswith("SIM00000  OCPP 1.6  online, paused"), lines
        assert lines[1].startswith("SIM00001  OCPP 1.6  offline"), lines

        started = voltyard("sim", "station", "start", "SIM00001", "--control-socket", str(socket))
        resumed = voltyard("sim", "station", "resume", "SIM00000", "--control-socket", str(socket))
        assert started.returncode == resumed.returncode == 0
        while not all(line.split("  ")[2] == "online" for line in _listing(socket)):
            assert time.monotonic() < deadline, _listing(socket)
            time.sleep(0.2)

        unknown = voltyard("sim", "station", "stop", "NOPE", "--control-socket", str(socket))
        assert unknown.returncode == 1
        assert unknown.stderr == "voltyard sim: offline: no charger 'NOPE' in this run\n"
    finally:
        run.terminate()
        run.communicate(timeout=60)
    nobody = voltyard("sim", "stations", "--control-socket", str(tmp_path / "none.sock"))
    assert nobody.returncode == 2
    assert nobody.stderr.startswith("voltyard sim: ")
