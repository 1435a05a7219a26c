"""A snapshot of `voltyard emulate`'s main screen, attached to a real `voltyard sim run` (a subprocess).

The run's central system does not answer (port 9), so what the screen shows holds still: two chargers
offline, one connector plugged in by the control socket, and the frame pane saying the run keeps no
frame log. Accept a deliberate change of the look with `--snapshot-update`, as in test_snapshots.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voltyard_tui.emulate import EmulatorApp

SIZE = (120, 30)
HANG_GUARD_S = 30.0


def control(path: Path, command: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(HANG_GUARD_S)
        sock.connect(str(path))
        sock.sendall(json.dumps(command).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply


@pytest.fixture
def sim_run(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "control.sock"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "voltyard"), "sim", "run", "--url", "ws://127.0.0.1:9/ocpp",
         "--chargers", "2", "--connectors", "2", "--id-prefix", "EMU", "--scenario", "idle",
         "--duration", "600", "--connect-timeout", "600", "--progress", "off",
         "--control-socket", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while not path.is_socket():
            assert process.poll() is None, "sim run ended early"
            assert time.monotonic() < deadline, "sim run did not open its control socket"
            time.sleep(0.05)
        assert control(path, {"command": "plug", "charger": "EMU00001", "connector": 2})["ok"]
        yield path
    finally:
        process.terminate()
        process.wait(HANG_GUARD_S)


def test_emulate_main_screen(snap_compare: Any, sim_run: Path) -> None:
    """The chargers and connectors with their state, the frame pane, the keys in the footer."""
    assert snap_compare(EmulatorApp(sim_run, poll=False), terminal_size=SIZE)
