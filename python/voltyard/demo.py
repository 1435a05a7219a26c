"""`voltyard demo`: the whole appliance on one machine, no hardware: the central system with its control
API, a fleet of simulated chargers running a scenario, the simulated DC cabinet when there is one, and the
operator console in the foreground.

Each part runs as its own process, exactly as an operator would start it, so the demo also shows the
commands to use. Closing the console (or Ctrl-C) stops everything.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from voltyard.errors import VoltyardError

__all__ = ["DemoOptions", "run_demo"]

log = logging.getLogger(__name__)

_READY = re.compile(r"voltyard ready: OCPP ws://[^:]+:(\d+)/.*control API (http://[^ ]+/api/v1)")


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What `voltyard demo` runs."""

    chargers: int = 20
    connectors: int = 2
    scenario: str = "morning_rush"
    duration: float = 3600.0
    data_dir: Path | None = None
    tui: bool = True
    ready_timeout: float = 60.0
    site_limit_kw: float = 300.0


def _start(args: list[str], **kwargs: object) -> subprocess.Popen[str]:
    log.info("starting: %s", " ".join(args))
    return subprocess.Popen(args, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def _wait_ready(server: subprocess.Popen[str], timeout: float) -> tuple[int, str]:
    """The OCPP port and the API URL from the server's ready line."""
    assert server.stderr is not None
    deadline = time.monotonic() + timeout
    for line in server.stderr:
        sys.stderr.write(line)
        match = _READY.search(line)
        if match:
            return int(match.group(1)), match.group(2).removesuffix("/api/v1")
        if time.monotonic() > deadline:
            break
    raise VoltyardError("the central system did not start; its log is above")


def _set_site_limit(api_url: str, token_file: Path, limit_kw: float) -> None:
    request = urllib.request.Request(
        f"{api_url}/api/v1/site",
        data=json.dumps({"limit_kw": limit_kw, "operator": "voltyard demo"}).encode(),  # audited: who set it
        method="PUT",
        headers={
            "Authorization": f"Bearer {token_file.read_text().strip()}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        log.info("site limit set to %s kW: %s", limit_kw, response.status)


def _copy(process: subprocess.Popen[str], path: Path) -> None:
    """Keep reading a child's stderr into a file, so that a full pipe never blocks it."""
    assert process.stderr is not None
    with path.open("a") as out:
        for line in process.stderr:
            out.write(line)
            out.flush()


def run_demo(options: DemoOptions) -> int:
    """Run the demo until the console closes (or, without it, until the scenario ends or Ctrl-C)."""
    owned_dir = options.data_dir is None
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="voltyard-demo-"))
    python = sys.executable
    processes: list[subprocess.Popen[str]] = []
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        config = data_dir / "demo.toml"
        # The demo shows site power management at work: the manager on, and a limit below the fleet's demand.
        config.write_text("[power]\nenabled = true\nrebalance_period_s = 2.0\n")
        server = _start(
            [python, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1", "--port", "0", "--api-port", "0",
             "--data-dir", str(data_dir), "--config", str(config)],
            stderr=subprocess.PIPE,
        )  # fmt: skip
        processes.append(server)
        port, api_url = _wait_ready(server, options.ready_timeout)
        _set_site_limit(api_url, data_dir / "api-token-operator", options.site_limit_kw)
        # From here on the console owns the terminal: the others write to files in the data directory.
        server_log = data_dir / "serve.log"
        threading.Thread(target=_copy, args=(server, server_log), daemon=True).start()
        sim_log = (data_dir / "sim.log").open("w") if options.tui else None
        fleet = _start(
            [python, "-m", "voltyard.cli", "sim", "run", "--url", f"ws://127.0.0.1:{port}/ocpp",
             "--chargers", str(options.chargers), "--connectors", str(options.connectors),
             "--scenario", options.scenario, "--duration", str(options.duration), "--progress", "off",
             "--no-plot"],
            stdout=sim_log, stderr=sim_log,
        )  # fmt: skip
        processes.append(fleet)
        if not options.tui:
            return fleet.wait()
        return _console(api_url, data_dir / "api-token-operator")
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
        for process in reversed(processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if owned_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def _console(api_url: str, token_file: Path) -> int:
    try:
        from voltyard_tui.cli import main as tui_main  # noqa: PLC0415 - a separate, optional distribution
    except ImportError:
        raise VoltyardError(
            "the console is not installed: pip install ./tui (or run the demo with --no-tui)"
        ) from None
    return int(tui_main(["--api-url", api_url, "--token-file", str(token_file)]) or 0)
