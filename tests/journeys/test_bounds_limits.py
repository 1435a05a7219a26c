"""The overload limits of issue 18 as an operator meets them: set in voltyard.toml, shown by check-config,
refused at start when out of bounds (one line, exit 2), and counted in /metrics while a charger that pings
too fast is slowed down, not dropped."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from tests.journeys.appliance import RunningAppliance, voltyard

LIMITS = """[server]
stream_max_buffer = 2097152
[admission]
control_frame_rate = 2.0
control_frame_burst = 5
max_unsent_bytes = 262144
unsent_timeout = 5.0
"""


def test_check_config_shows_the_overload_limits_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text(LIMITS)
    result = voltyard("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    for line in (
        "stream_max_buffer = 2097152  # file",
        "control_frame_rate = 2.0  # file",
        "control_frame_burst = 5  # file",
        "max_unsent_bytes = 262144  # file",
        "unsent_timeout = 5.0  # file",
    ):
        assert line in result.stdout


def test_serve_refuses_an_out_of_bounds_limit_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text("[server]\nstream_max_buffer = 1000\n")
    result = voltyard("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"), timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"voltyard: {config}: server.stream_max_buffer: 1000 is outside 1048576..1073741824"
    ]


def _metrics(appliance: RunningAppliance) -> str:
    request = urllib.request.Request(
        appliance.api_url + "/metrics", headers={"Authorization": f"Bearer {appliance.token('readonly')}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text: str = response.read().decode()
        return text


def test_a_charger_pinging_too_fast_is_slowed_and_counted_not_dropped(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "data")
    appliance.start(LIMITS)
    try:
        with connect(f"{appliance.ocpp_url}/PINGER", subprotocols=["ocpp1.6"], open_timeout=30) as ws:  # type: ignore[list-item]
            pongs = [ws.ping(str(number)) for number in range(10)]  # the burst (5) and 5 more
            for pong in pongs:  # the last ping's pong answers every earlier one (RFC 6455 §5.5.3)
                assert pong.wait(30), "a ping was never answered"
            ws.send('[2,"hb","Heartbeat",{}]')
            assert '"hb"' in str(ws.recv(timeout=30))
        deadline = time.monotonic() + 30
        while 'voltyard_connections_paused_total{reason="control_frames"}' not in (
            text := _metrics(appliance)
        ):
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        assert "voltyard_stream_clients_dropped_total 0" in text
        assert "voltyard_connections_closed_total{" not in text
    finally:
        appliance.stop()
