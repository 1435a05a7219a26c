"""`voltyard demo`: the whole appliance on one machine, no hardware: the central system with its control
API and a DC cabinet of simulated PLCs, a fleet of simulated chargers running a scenario, and the operator
console in the foreground.

The server and the fleet run as their own processes, exactly as an operator would start them, so the demo
also shows the commands to use. The demo provisions the drivers' id tags (and the cabinet's EVs' AutoCharge
tags) and the site limit through the real control API, as an operator would. The cabinet's PLCs run
inside the server (`[cabinet] simulate_plcs`): python-can's `virtual` bus reaches only its own process.

Every part's output goes to a log in the data directory (`serve.log`, `sim.log`). When a part fails, the
demo says which, shows the end of its log on stderr and exits non-zero; a temporary data directory is then
kept, and its path printed. Closing the console (or Ctrl-C) stops everything.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from voltyard.errors import VoltyardError

__all__ = ["DemoOptions", "demo_config", "demo_id_tags", "run_demo"]

log = logging.getLogger(__name__)

_READY = re.compile(r"voltyard ready: OCPP ws://[^:]+:(\d+)/.*control API (http://[^ ]+/api/v1)")
_TAIL_LINES = 20
# The cabinet's guns (plcIds 0-3, connectors 1-4): what the demo's site has beside its AC chargers.
CABINET_GUNS = 4


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What `voltyard demo` runs."""

    chargers: int = 20
    connectors: int = 2
    scenario: str = "demo"
    duration: float = 3600.0
    data_dir: Path | None = None
    tui: bool = True
    ready_timeout: float = 60.0
    site_limit_kw: float = 300.0
    sample_interval: int = 5  # MeterValues every 5 s: the console's power moves while one watches
    cabinet: bool = True


class DemoFailed(VoltyardError):
    """A part of the demo failed; the message names it and shows the end of its log."""


def demo_config(options: DemoOptions, channel: str) -> str:
    """The demo's voltyard.toml: site power management on, self-clearing faults, a simulated cabinet."""
    text = (
        "# Written by `voltyard demo`.\n"
        "[power]\n"
        "enabled = true\n"
        "rebalance_period_s = 2.0\n\n"
        "[health]\n"
        "# The demo's faults clear themselves after a few seconds; an Inoperative connector would sit out\n"
        "# the rest of the demo, with nobody there to bring it back.\n"
        "faulted_inoperative = false\n"
    )
    if options.cabinet:
        guns = ",\n".join(
            f'  {{ connector_id = {plc + 1}, plc_id = {plc}, label = "Gun {plc + 1}", max_power_kw = 150.0 }}'
            for plc in range(CABINET_GUNS)
        )
        text += (
            "\n[cabinet]\n"
            'charge_point_id = "CABINET"\n'
            "# Simulated PLCs with EVs that come and go, in the server: a `virtual` bus is per process.\n"
            "simulate_plcs = true\n"
            f'bus = {{ interface = "virtual", channel = "{channel}" }}\n'
            f"guns = [\n{guns},\n]\n"
        )
    return text


class _Api:
    """The control API as the demo's operator uses it."""

    def __init__(self, url: str, token_file: Path) -> None:
        self.url = url
        self.token = token_file.read_text().strip()

    def put(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            exc.close()
            raise DemoFailed(f"PUT {path} answered {exc.code}: {detail}") from None
        except OSError as exc:
            raise DemoFailed(f"PUT {path}: the control API does not answer: {exc}") from None


def _fleet_tags(chargers: int, connectors: int) -> list[str]:
    from voltyard.sim.scenarios import tag_for  # noqa: PLC0415 - the simulator loads only for the demo

    return [tag_for(index, connector) for index in range(chargers) for connector in range(1, connectors + 1)]


def _provision(api: _Api, options: DemoOptions) -> None:
    """The drivers' id tags, the cabinet EVs' AutoCharge tags and the site limit, as an operator sets them."""
    tags = demo_id_tags(options)
    for tag in tags:
        api.put(f"/id-tags/{urllib.parse.quote(tag, safe='')}", {"status": "Accepted", "operator": "demo"})
    api.put("/site", {"limit_kw": options.site_limit_kw, "operator": "demo"})
    log.info("demo: %d id tags accepted, site limit %g kW", len(tags), options.site_limit_kw)


def _tail(path: Path, lines: int = _TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"    ({path}: {exc.strerror})"
    return "\n".join("    " + line for line in text.splitlines()[-lines:]) or "    (empty)"


def _pump(source: IO[str], log_file: Path, echo: TextIO | None) -> None:
    """Copy a child's output into its log (and to `echo`) line by line: a full pipe never blocks it."""
    with source, log_file.open("a") as out:
        for line in source:
            out.write(line)
            out.flush()
            if echo is not None:
                echo.write(line)
                echo.flush()


class _Demo:
    def __init__(self, options: DemoOptions, data_dir: Path) -> None:
        self.options = options
        self.data_dir = data_dir
        self.serve_log = data_dir / "serve.log"
        self.sim_log = data_dir / "sim.log"
        self.token_file = data_dir / "api-token-operator"
        self.server: subprocess.Popen[str] | None = None
        self.fleet: subprocess.Popen[str] | None = None
        self._pumps: list[threading.Thread] = []

    def start_server(self) -> tuple[int, str]:
        config = self.data_dir / "demo.toml"
        config.write_text(demo_config(self.options, f"voltyard-demo-{os.getpid()}"))
        self.serve_log.write_text("")
        args = [sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1", "--port", "0",
                "--api-port", "0", "--data-dir", str(self.data_dir), "--config", str(config)]  # fmt: skip
        log.info("starting: %s", " ".join(args))
        self.server = subprocess.Popen(args, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.server.stderr is not None
        deadline = time.monotonic() + self.options.ready_timeout
        with self.serve_log.open("a") as out:
            for line in self.server.stderr:
                out.write(line)
                sys.stderr.write(line)
                match = _READY.search(line)
                if match:
                    port, api_url = int(match.group(1)), match.group(2).removesuffix("/api/v1")
                    break
                if time.monotonic() > deadline:
                    raise DemoFailed(
                        f"the central system was not ready within {self.options.ready_timeout:g} s"
                    )
            else:
                code = self.server.wait()
                raise DemoFailed(
                    f"the central system exited with code {code} before it was ready (its log is above)"
                )
        self._pump(self.server.stderr, self.serve_log, None)
        return port, api_url

    def start_fleet(self, port: int) -> None:
        o = self.options
        args = [sys.executable, "-m", "voltyard.cli", "sim", "run", "--url", f"ws://127.0.0.1:{port}/ocpp",
                "--chargers", str(o.chargers), "--connectors", str(o.connectors), "--scenario", o.scenario,
                "--duration", str(o.duration), "--site-limit-kw", str(o.site_limit_kw),
                "--sample-interval", str(o.sample_interval), "--progress", "off" if o.tui else "plain",
                "--no-plot", "--control-socket", str(self.data_dir / "sim-control.sock")]  # fmt: skip
        log.info("starting: %s", " ".join(args))
        self.sim_log.write_text("")
        self.fleet = subprocess.Popen(args, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.fleet.stdout is not None
        # Headless, the fleet's progress and summary are the demo's output; with the console, only its log.
        self._pump(self.fleet.stdout, self.sim_log, None if o.tui else sys.stdout)

    def _pump(self, source: IO[str], path: Path, echo: TextIO | None) -> None:
        thread = threading.Thread(target=_pump, args=(source, path, echo), daemon=True)
        thread.start()
        self._pumps.append(thread)

    def check_server(self) -> None:
        """Raise DemoFailed when the server died under the demo."""
        assert self.server is not None
        code = self.server.poll()
        if code is not None:
            self._drain()
            raise DemoFailed(
                f"the central system exited with code {code}; the end of {self.serve_log}:\n"
                + _tail(self.serve_log)
            )

    def wait_fleet(self) -> int:
        """Until the fleet's run ends (the server watched meanwhile); its failure is the demo's."""
        assert self.fleet is not None
        while (code := self.fleet.poll()) is None:
            self.check_server()
            time.sleep(0.5)
        self._drain()
        if code != 0:
            raise DemoFailed(
                f"the simulated fleet exited with code {code}; the end of {self.sim_log}:\n"
                + _tail(self.sim_log)
            )
        return code

    def _drain(self) -> None:
        for thread in self._pumps:
            thread.join(5)

    def stop(self) -> list[str]:
        """Stop every part (fleet first); returns what did not stop cleanly."""
        problems = []
        for name, process in (("simulated fleet", self.fleet), ("central system", self.server)):
            if process is None:
                continue
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGINT)
            try:
                code = process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
                problems.append(f"the {name} did not stop within 20 s and was killed")
                continue
            if name == "central system" and code not in (0, -signal.SIGINT):
                problems.append(f"the central system stopped with code {code}")
        self._drain()
        for process in (self.fleet, self.server):
            if process is not None:
                for stream in (process.stdout, process.stderr):
                    if stream is not None:
                        stream.close()
        return problems


def run_demo(options: DemoOptions) -> int:
    """Run the demo until the console closes (or, without it, until the scenario ends or Ctrl-C)."""
    owned_dir = options.data_dir is None
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="voltyard-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    demo = _Demo(options, data_dir)
    failed = True
    # SIGTERM (a service manager, `kill`, a test's terminate()) stops the parts as Ctrl-C does, rather than
    # leaving the server and the fleet running without their demo.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        port, api_url = demo.start_server()
        _provision(_Api(api_url, demo.token_file), options)
        demo.start_fleet(port)
        _banner(api_url, port, demo, options)
        if options.tui:
            code = _console(api_url, demo.token_file)
            demo.check_server()
        else:
            code = demo.wait_fleet()
        failed = code != 0
        return code
    except KeyboardInterrupt:
        failed = False  # the user stopped the demo: nothing to keep
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        problems = demo.stop()
        for problem in problems:
            print(f"voltyard demo: {problem}", file=sys.stderr)
        if owned_dir and (failed or problems):
            print(f"voltyard demo: kept {data_dir} (logs: serve.log, sim.log) to look at", file=sys.stderr)
        elif owned_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _banner(api_url: str, port: int, demo: _Demo, options: DemoOptions) -> None:
    lines = [
        f"voltyard demo: control API {api_url}/api/v1 (operator token in {demo.token_file})",
        f"voltyard demo: OCPP ws://127.0.0.1:{port}/ocpp/{{chargePointId}}; {options.chargers} simulated "
        f"chargers x {options.connectors}, scenario {options.scenario}, {options.duration:g} s"
        + (f"; DC cabinet CABINET with {CABINET_GUNS} guns (simulated PLCs)" if options.cabinet else ""),
        f"voltyard demo: logs in {demo.serve_log} and {demo.sim_log}",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _console(api_url: str, token_file: Path) -> int:
    try:
        from voltyard_tui.cli import main as tui_main  # noqa: PLC0415 - a separate, optional distribution
    except ImportError:
        raise DemoFailed(
            "the console is not installed: pip install ./tui (or run the demo with --no-tui)"
        ) from None
    return int(tui_main(["--api-url", api_url, "--token-file", str(token_file)]) or 0)


def demo_id_tags(options: DemoOptions) -> list[str]:
    """Every id tag the demo accepts: its drivers' and its cabinet's EVs' (AutoCharge)."""
    tags = _fleet_tags(options.chargers, options.connectors)
    if options.cabinet:
        from voltyard.sim.plc import car_id_tags  # noqa: PLC0415

        tags += car_id_tags(range(CABINET_GUNS))
    return tags
