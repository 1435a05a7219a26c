"""What `voltyard sim ...` does once its arguments are parsed: run, list scenarios, inject a fault.

Exit codes: 0 a run whose expectations all held (or a command that worked), 1 a run whose expectations
failed, a central system no charger could reach within the connect timeout (or a control command the
simulator refused), 2 a bad option, scenario file or unreachable control socket.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from pathlib import Path
from typing import TextIO

from voltyard.errors import ConfigError, VoltyardError
from voltyard.loops import loop_factory
from voltyard.sim.control import send_command
from voltyard.sim.errors import ConnectError, ControlError
from voltyard.sim.progress import Progress
from voltyard.sim.report import RunReport
from voltyard.sim.scenarios import BUILTIN, find_scenario
from voltyard.sim.simulation import SimConfig, Simulation

__all__ = ["inject_fault", "list_scenarios", "run"]

log = logging.getLogger("voltyard.sim")

# Sockets per charger, plus headroom for the loop, the control socket and files.
_FD_HEADROOM = 64


def run(config: SimConfig, *, progress: str, loop: str, out: TextIO, err: TextIO) -> int:
    """`voltyard sim run`: the whole run, its summary on `out`, and the exit code."""
    try:
        find_scenario(config.scenario)
        config.options.check()
    except ConfigError as exc:
        print(f"voltyard sim: {exc}", file=err)
        return 2
    _raise_fd_limit(config.shape.chargers + _FD_HEADROOM, err)
    shown = None if progress == "off" else Progress(err, config.shape.chargers, tty=_tty(progress, err))
    try:
        with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
            simulation = Simulation(config, progress=shown, warn=lambda text: _warn(text, err))
            report = runner.run(simulation.run())
    except ConnectError as exc:
        print(f"voltyard sim: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C (or `voltyard demo` closing): no traceback, and no control socket left behind.
        if config.control_socket is not None:
            config.control_socket.unlink(missing_ok=True)
        print("voltyard sim: interrupted", file=err)
        return 130
    except VoltyardError as exc:
        print(f"voltyard sim: {exc}", file=err)
        return 2
    _print_summary(report, config, out)
    return 0 if report.passed else 1


def _warn(text: str, err: TextIO) -> None:
    # On a terminal the progress line is rewritten in place: start the warning on a line of its own.
    prefix = "\n" if err.isatty() else ""
    print(f"{prefix}voltyard sim: {text}", file=err, flush=True)


def _tty(progress: str, err: TextIO) -> bool | None:
    return {"tty": True, "plain": False}.get(progress)


def _print_summary(report: RunReport, config: SimConfig, out: TextIO) -> None:
    for line in report.summary_lines():
        print(line, file=out)
    if config.report_path is not None:
        print(f"report: {config.report_path}", file=out)


def _raise_fd_limit(wanted: int, err: TextIO) -> None:
    """Raise the soft open-files limit towards `wanted` (up to the hard limit); warn when it falls short."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        print(f"voltyard sim: open-files limit {target} < {wanted} needed; raise `ulimit -Hn`", file=err)


def list_scenarios(out: TextIO) -> int:
    """`voltyard sim scenarios`: name, default duration and description of each built-in scenario."""
    width = max(len(name) for name in BUILTIN)
    for name, scenario in BUILTIN.items():
        print(f"{name:<{width}}  {scenario.duration:>5g} s  {scenario.description}", file=out)
    print("or a path to a .toml scenario file (see docs/sim.md)", file=out)
    return 0


def inject_fault(
    socket_path: Path, charger: str, connector: int, code: str, *, out: TextIO, err: TextIO
) -> int:
    """`voltyard sim inject-fault`: ask a running simulator to fault a connector."""
    command = {"command": "inject-fault", "charger": charger, "connector": connector, "code": code}
    try:
        reply = send_command(socket_path, command)
    except ControlError as exc:
        print(f"voltyard sim: {exc}", file=err)
        return 2
    if not reply.get("ok"):
        print(f"voltyard sim: {reply.get('error', 'refused')}", file=err)
        return 1
    print(f"{reply['charger']} connector {reply['connector']}: {reply['status']}", file=out)
    return 0


# `voltyard sim station ACTION`: the control command each sends.
STATION_ACTIONS = {"stop": "offline", "start": "online", "pause": "pause", "resume": "resume"}


def stations(socket_path: Path, *, out: TextIO, err: TextIO) -> int:
    """`voltyard sim stations`: the stations of a running simulator, one line each."""
    try:
        reply = send_command(socket_path, {"command": "chargers"})
    except ControlError as exc:
        print(f"voltyard sim: {exc}", file=err)
        return 2
    if not reply.get("ok"):
        print(f"voltyard sim: {reply.get('error', 'refused')}", file=err)
        return 1
    for station in reply["chargers"]:
        state = "online" if station["online"] else "offline"
        if station.get("paused"):
            state += ", paused"
        sessions = sum(1 for connector in station["connectors"] if connector["session"] is not None)
        print(
            f"{station['id']}  OCPP {station['version']}  {state}  {sessions} session(s)  "
            f"{station['queued']} queued",
            file=out,
        )
    return 0


def station(socket_path: Path, action: str, charger_ids: list[str], *, out: TextIO, err: TextIO) -> int:
    """`voltyard sim station stop|start|pause|resume ID...`: manage stations of a running fleet.

    stop: the station's link goes down and stays down (its transaction messages queue, as offline);
    start: it connects again and replays them; pause / resume: its plan holds and goes on (it stays
    connected). Every id is tried; the exit status is 1 if any was refused, 2 with no simulator."""
    failed = False
    for charger_id in charger_ids:
        try:
            reply = send_command(socket_path, {"command": STATION_ACTIONS[action], "charger": charger_id})
        except ControlError as exc:
            print(f"voltyard sim: {exc}", file=err)
            return 2
        if not reply.get("ok"):
            print(f"voltyard sim: {reply.get('error', 'refused')}", file=err)
            failed = True
            continue
        print(f"{charger_id}: {action} done", file=out)
    return 1 if failed else 0
