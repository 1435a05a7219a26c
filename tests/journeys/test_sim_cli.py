"""`voltyard sim run` as a user runs it: a report without matplotlib, a dead URL, the site limit it states.

The installed entry point runs as a subprocess against a real `voltyard serve`. matplotlib's absence is made
honest by a `sitecustomize` on PYTHONPATH that makes `import matplotlib` fail, as it fails where the
optional `sim` extra is not installed.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from tests.journeys.appliance import RunningAppliance, voltyard


def _without_matplotlib(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "no-matplotlib"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "sys.modules['matplotlib'] = None  # `import matplotlib` raises ImportError, as when not installed\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return env


def test_report_without_matplotlib_prints_the_summary_and_exits_0(
    appliance: RunningAppliance, tmp_path: Path
) -> None:
    report = tmp_path / "run.json"
    result = voltyard(
        "sim", "run", "--url", appliance.ocpp_url, "--chargers", "3", "--scenario", "idle",
        "--duration", "2", "--report", str(report), "--progress", "off",
        "--control-socket", str(tmp_path / "ctl.sock"),
        env=_without_matplotlib(tmp_path), timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS all_back: 3/3 online" in result.stdout
    assert f"report: {report}" in result.stdout
    assert json.loads(report.read_text())["passed"] is True
    assert not report.with_suffix(".png").exists()
    warnings = [line for line in result.stderr.splitlines() if "matplotlib" in line]
    assert len(warnings) == 1, result.stderr
    assert "PNG is skipped" in warnings[0]


def _dead_port() -> int:
    # A port that was just free: bound, then closed, so nothing listens there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_url_says_connection_refused_at_once_and_gives_up_with_exit_1(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{_dead_port()}/ocpp"
    began = time.monotonic()
    result = voltyard(
        "sim", "run", "--url", url, "--chargers", "2", "--duration", "2", "--connect-timeout", "3",
        "--progress", "off", "--control-socket", str(tmp_path / "ctl.sock"), timeout=60,
    )  # fmt: skip
    took = time.monotonic() - began
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"voltyard sim: cannot connect to {url}/SIM0000"), result.stderr
    assert "connection refused" in lines[0]
    assert lines[-1].startswith("voltyard sim: no charger could connect within 3 s:"), result.stderr
    assert "connection refused" in lines[-1]
    assert result.stdout == ""  # no summary of a run that never ran
    assert took < 30  # a hang guard only: it gave up after the connect timeout, not after the scenario


def test_report_states_the_site_limit_it_was_given_or_says_it_is_unknown(
    appliance: RunningAppliance, tmp_path: Path
) -> None:
    assert appliance.api("PUT", "/id-tags/SIM000000C1", {"status": "Accepted"}).status in (200, 201)
    common = (
        "sim", "run", "--url", appliance.ocpp_url, "--chargers", "1", "--scenario", "basic_charge",
        "--duration", "3", "--progress", "off", "--no-plot", "--control-socket", str(tmp_path / "ctl.sock"),
    )  # fmt: skip
    unknown = voltyard(*common, "--report", str(tmp_path / "a.json"), timeout=90)
    assert unknown.returncode == 0, unknown.stdout + unknown.stderr
    assert "site limit: unknown (pass --site-limit-kw)" in unknown.stdout
    power = json.loads((tmp_path / "a.json").read_text())["power"]
    assert power["site_limit_kw"] is None
    assert power["site_limit_source"] == "assumed"
    given = voltyard(*common, "--site-limit-kw", "250", "--report", str(tmp_path / "b.json"), timeout=90)
    assert given.returncode == 0, given.stdout + given.stderr
    assert "against a limit of 250.0 kW (from --site-limit-kw)" in given.stdout
    assert json.loads((tmp_path / "b.json").read_text())["power"]["site_limit_kw"] == 250.0
