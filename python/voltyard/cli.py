"""The `voltyard` command: argument parsing and dispatch only.

Subcommands arrive with their features; `check-frames` runs OCPP-J frames through the same native
decoder and schemas (OCPP 1.6, or 2.0.1 and 2.1 with `--ocpp`) that the central system uses;
`check-config` prints the configuration `serve` would run with. `tui` hands its arguments,
untouched, to the console's own parser.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from voltyard import __version__
from voltyard._native import Call, CallError, CallResult, CallResultError, Send
from voltyard.can.config import BusConfig
from voltyard.config import Config, load_config
from voltyard.config_view import render_config
from voltyard.demo import DemoOptions, run_demo
from voltyard.errors import (
    ConfigError,
    OcppError,
    SchemaLoadError,
    StoreUnreachableError,
    StoreUnusableError,
    VoltyardError,
)
from voltyard.gateway.tls import server_context
from voltyard.loops import LOOPS
from voltyard.ocpp.codec import OCPP_VERSIONS, load_codec

if TYPE_CHECKING:
    from voltyard_tui.emulate import EmulatorApp

    from voltyard.sim.craft import CraftRequest


_EMULATE_S = 10.0 * 365 * 86400  # `voltyard emulate` runs until quit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voltyard",
        description=(
            "Voltyard charging-site appliance: OCPP 1.6J central system, DC cabinet, operator console."
        ),
    )
    parser.add_argument("--version", action="version", version=f"voltyard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check-frames",
        help="decode and validate OCPP-J frames against the OCPP 1.6, 2.0.1 or 2.1 schemas",
        description=(
            "Decode and validate OCPP-J frames of one version (--ocpp, 1.6 unless given). Each FILE "
            "holds one frame; with no FILE (or '-'), every non-blank line of standard input is one "
            "frame. Prints one verdict per frame (a refusal names the CALLERROR code in that version's "
            "spelling) and exits 1 if any frame is refused."
        ),
    )
    check.add_argument(
        "--ocpp",
        choices=OCPP_VERSIONS,
        default="1.6",
        metavar="VERSION",
        help=f"the OCPP version of the frames: {', '.join(OCPP_VERSIONS)} (default 1.6)",
    )
    check.add_argument("files", nargs="*", metavar="FILE", type=Path, help="a file holding one frame")
    check.add_argument(
        "--answers",
        metavar="ACTION",
        help="validate CALLRESULT payloads as the response of ACTION (e.g. BootNotification)",
    )
    _add_serve(commands)
    _add_check_config(commands)
    _add_sim(commands)
    _add_emulate(commands)
    _add_demo(commands)
    _add_plc_sim(commands)
    _add_store(commands)
    # Listed for `voltyard --help` only: `main` hands `voltyard tui ARGS` to the console before argparse
    # sees them (argparse's REMAINDER refuses options such as --api-url that come first).
    commands.add_parser(
        "tui",
        help="the operator console (the voltyard-tui distribution); voltyard tui --help for its options",
        add_help=False,
    )
    return parser


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="the whole appliance without hardware: server, simulated chargers and cabinet, console",
        description=(
            "Start the central system with its control API and a DC cabinet of simulated PLCs, a fleet of "
            "simulated chargers running a scenario, and the operator console; closing the console stops "
            "everything. The drivers' id tags and the site limit are set through the control API. Logs go "
            "to serve.log and sim.log in the data directory; when a part fails, the demo shows the end of "
            "its log, keeps the data directory and exits 1."
        ),
    )
    demo.add_argument("--chargers", type=_positive_int, default=20, help="simulated chargers (default 20)")
    demo.add_argument(
        "--connectors", type=_positive_int, default=2, help="connectors per charger (default 2)"
    )
    demo.add_argument(
        "--scenario",
        default="demo",
        help="simulator scenario (default demo: sessions within seconds, a fault every 150 s)",
    )
    demo.add_argument(
        "--duration", type=_positive_float, default=3600.0, help="seconds the fleet runs (default 3600)"
    )
    demo.add_argument(
        "--site-limit-kw", type=_positive_float, default=300.0, help="the site limit set (default 300)"
    )
    demo.add_argument("--no-cabinet", action="store_true", help="no DC cabinet")
    demo.add_argument("--data-dir", type=Path, help="keep the store here (default: a temporary directory)")
    demo.add_argument("--no-tui", action="store_true", help="run headless until the scenario ends")


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the central system (OCPP 1.6J server and store)",
        description=(
            "Run the OCPP 1.6J central system on embedded defaults, a configuration file, or both (a flag "
            "given overrides the file, the file overrides the defaults; `voltyard check-config` shows the "
            "result). Stops cleanly on SIGINT or SIGTERM (a second SIGINT stops at once). Exit codes: 0 "
            "after a clean stop; 2 when restarting cannot help until someone acts: a configuration error, "
            "a store this build must not use (damaged, not a database, or written by a newer voltyard), or "
            "a PostgreSQL store that cannot be reached; 1 when the appliance cannot start for another "
            "reason (data directory unwritable or in use, listener address in use)."
        ),
    )
    _add_config_flags(serve)
    serve.add_argument("--loop", choices=LOOPS, default="uvloop", help="event loop (default uvloop)")
    serve.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info", help="default info"
    )


def _add_store(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store = commands.add_parser("store", help="the appliance's store: copy it to PostgreSQL")
    actions = store.add_subparsers(dest="store_command", metavar="STORE_COMMAND", required=True)
    copy = actions.add_parser(
        "migrate-to-postgresql",
        help="copy a data directory's SQLite store into an empty PostgreSQL database",
        description=(
            "Copy the SQLite store of a data directory (voltyard.db) into an empty PostgreSQL database, in "
            "one transaction: every table, ids kept, each id sequence set past the highest id the store "
            "ever gave. Stop voltyard serve first (the data directory is locked while copying); then set "
            '[store] backend = "postgresql" and dsn to serve from the database. Exit 0 when copied, 2 '
            "with one line saying why when refused or failed (nothing is copied then)."
        ),
    )
    copy.add_argument("--data-dir", type=Path, metavar="DIR", required=True, help="the appliance's data dir")
    copy.add_argument(
        "--dsn", metavar="URL", required=True, help="postgresql://user[:password]@host[:port]/database"
    )


def _add_check_config(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check-config",
        help="print the configuration serve would run with, and where each value came from",
        description=(
            "Load the configuration as `voltyard serve` would (same file, same flags) and print it as TOML, "
            "each value followed by its source: default, file, or the flag that set it. Exit 0 when it is "
            "valid, 2 (with one line naming the file and the key) when it is not. Starts nothing."
        ),
    )
    _add_config_flags(check)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """The flags `serve` and `check-config` share; a flag left out overrides nothing."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="a voltyard.toml (see configs/voltyard.toml)"
    )
    parser.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="the data directory: API tokens and the SQLite store"
    )
    parser.add_argument("--host", help="address of the OCPP listener (default 0.0.0.0)")
    parser.add_argument("--port", type=_port, help="OCPP websocket port (default 9000; 0 picks a free one)")
    parser.add_argument("--api-port", type=_port, help="control API port (default 8180)")


def _add_sim(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = commands.add_parser(
        "sim",
        help="simulated chargers: scenarios and load tests against a central system",
        description=(
            "Simulate OCPP 1.6J, 2.0.1 and 2.1 chargers against a central system (see docs/sim.md)."
        ),
    )
    actions = sim.add_subparsers(dest="sim_command", metavar="SIM_COMMAND")
    run = actions.add_parser(
        "run",
        help="run a scenario (and optional load) with N simulated chargers",
        description=(
            "Connect N simulated chargers, run a scenario for D seconds (optionally with generated load), "
            "print a summary and exit 1 if the scenario's expectations failed. Progress goes to stderr."
        ),
    )
    run.add_argument("--url", required=True, help="central system, e.g. ws://127.0.0.1:9000/ocpp")
    run.add_argument("--chargers", type=_positive_int, default=10, metavar="N", help="default 10")
    run.add_argument(
        "--fleet",
        type=Path,
        metavar="FILE.toml",
        help="a fleet file: station templates with counts (replaces --chargers, --connectors, --id-prefix)",
    )
    run.add_argument(
        "--connectors", type=_positive_int, default=1, metavar="M", help="per charger, default 1"
    )
    run.add_argument("--scenario", default="basic_charge", metavar="NAME", help="a name or a .toml file")
    run.add_argument("--seed", type=int, default=0, metavar="S", help="default 0: same seed, same actions")
    run.add_argument(
        "--duration", type=_positive_float, metavar="D", help="seconds (default: the scenario's)"
    )
    run.add_argument("--id-prefix", default="SIM", help="charger ids are PREFIX00000, PREFIX00001, ...")
    run.add_argument(
        "--protocol",
        metavar="VERSION[:SHARE],...",
        help=(
            "OCPP version of every charger: 1.6, 2.0.1 or 2.1, or a mix with shares of the fleet, e.g. "
            "1.6:50,2.0.1:40,2.1:10 (default: each station template's `protocol`, else 1.6)"
        ),
    )
    run.add_argument("--site-limit-kw", type=_positive_float, metavar="KW", help="for power_saturation")
    run.add_argument("--sample-interval", type=_positive_int, metavar="S", help="MeterValueSampleInterval")
    load = run.add_argument_group("load")
    load.add_argument(
        "--load", choices=("rate", "closed"), help="add generated load: fixed-rate or closed-loop"
    )
    load.add_argument("--rate", type=_positive_float, default=1000.0, help="calls/s for --load rate")
    load.add_argument("--concurrency", type=_positive_int, default=100, help="calls in flight, --load closed")
    load.add_argument(
        "--mix", default="Heartbeat=1,StatusNotification=1,MeterValues=2", help="action weights"
    )
    out = run.add_argument_group("output")
    out.add_argument(
        "--report", type=Path, metavar="FILE.json", help="write the JSON report (and a PNG beside)"
    )
    out.add_argument("--no-plot", action="store_true", help="no PNG next to the report")
    out.add_argument("--action-log", type=Path, metavar="FILE", help="write the executed steps")
    out.add_argument(
        "--frames",
        type=Path,
        metavar="FILE",
        help="write every frame sent and received (.json, .csv, else text; see --frames-format)",
    )
    out.add_argument("--frames-format", choices=("json", "csv", "text"), help="default: by the suffix")
    out.add_argument(
        "--frames-limit", type=_positive_int, default=100_000, metavar="N", help="frames kept (newest)"
    )
    out.add_argument("--progress", choices=("auto", "tty", "plain", "off"), default="auto")
    out.add_argument("--control-socket", type=Path, metavar="PATH", help="default: the sim run dir")
    sec = run.add_argument_group("connection")
    sec.add_argument("--security-profile", type=int, choices=(0, 1, 2, 3), default=0)
    sec.add_argument("--password", help="Basic auth password (profiles 1-2); may contain {charger_id}")
    sec.add_argument("--ca-file", type=Path, help="CA bundle to verify the central system (wss://)")
    sec.add_argument("--cert-file", help="client certificate (profile 3); may contain {charger_id}")
    sec.add_argument("--key-file", help="client key (profile 3); may contain {charger_id}")
    sec.add_argument("--call-timeout", type=_positive_float, default=30.0, help="seconds, default 30")
    sec.add_argument("--backoff-base", type=_positive_float, default=1.0, help="reconnect backoff, seconds")
    sec.add_argument("--backoff-cap", type=_positive_float, default=30.0, help="longest reconnect wait")
    sec.add_argument("--connect-concurrency", type=_positive_int, default=256, help="handshakes at once")
    sec.add_argument("--connect-timeout", type=_positive_float, default=120.0, help="for all to boot")
    run.add_argument("--loop", choices=LOOPS, default="uvloop", help="event loop (default uvloop)")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning")
    _add_sim_craft(actions)
    actions.add_parser("scenarios", help="list the built-in scenarios")
    _add_sim_control(actions)


def _add_sim_control(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `voltyard sim` commands that act on a running simulator through its control socket."""
    fault = actions.add_parser(
        "inject-fault",
        help="fault a connector of a running simulator",
        description="Fault a connector of a running `voltyard sim run`, through its control socket.",
    )
    fault.add_argument("charger", metavar="CHARGER", help="charger id, e.g. SIM00003")
    fault.add_argument("connector", metavar="CONNECTOR", type=_positive_int, help="connector number")
    fault.add_argument("--code", default="OtherError", help="ChargePointErrorCode, default OtherError")
    fault.add_argument("--control-socket", type=Path, metavar="PATH", help="default: the sim run dir")
    listing = actions.add_parser(
        "stations",
        help="list the stations of a running simulator",
        description="The stations of a running `voltyard sim run`: version, online or not, paused, sessions.",
    )
    listing.add_argument("--control-socket", type=Path, metavar="PATH", help="default: the sim run dir")
    manage = actions.add_parser(
        "station",
        help="stop, start, pause or resume stations of a running simulator",
        description=(
            "Manage stations of a running `voltyard sim run` without restarting it. stop: the station's link "
            "goes down and stays down (transaction messages queue); start: it connects again and replays "
            "them; pause / resume: its scenario steps hold and go on (it stays connected)."
        ),
    )
    manage.add_argument("action", choices=("stop", "start", "pause", "resume"))
    manage.add_argument("charger", nargs="+", metavar="CHARGER", help="charger id(s), e.g. SIM00003")
    manage.add_argument("--control-socket", type=Path, metavar="PATH", help="default: the sim run dir")


def _add_emulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    emulate = commands.add_parser(
        "emulate",
        help="a console to drive a few simulated chargers by hand against any central system",
        description=(
            "Start N idle simulated chargers against the central system at --url and drive them from a "
            "console: plug/unplug, present a tag, stop, faults, go offline and come back, a live frame "
            "pane and the crafter (see docs/emulate.md). With --control-socket it drives a running "
            "`voltyard sim run` instead. Needs the console (the voltyard-tui distribution)."
        ),
    )
    emulate.add_argument("--url", help="central system, e.g. ws://127.0.0.1:9000/ocpp")
    emulate.add_argument("--chargers", type=_positive_int, default=1, metavar="N", help="default 1")
    emulate.add_argument(
        "--connectors", type=_positive_int, default=2, metavar="M", help="per charger, default 2"
    )
    emulate.add_argument(
        "--protocol",
        metavar="VERSION[:SHARE],...",
        help="OCPP version of the chargers: 1.6, 2.0.1 or 2.1, or a mix as for sim run (default 1.6)",
    )
    emulate.add_argument("--id-prefix", default="EMU", help="charger ids are PREFIX00000, ... (default EMU)")
    emulate.add_argument("--password", help="Basic auth password (security profile 1); may hold {charger_id}")
    emulate.add_argument(
        "--security-profile", type=int, choices=(0, 1), default=0, help="0 (default) or 1 (--password)"
    )
    emulate.add_argument(
        "--connect-timeout",
        type=_positive_float,
        default=15.0,
        metavar="S",
        help="seconds for every charger to boot before giving up (default 15)",
    )
    emulate.add_argument(
        "--control-socket",
        type=Path,
        metavar="PATH",
        help="drive the running `voltyard sim run` on this socket instead of starting chargers",
    )


def _add_sim_craft(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    craft = actions.add_parser(
        "craft",
        help="send one hand-made frame as a charger and show the answer",
        description=(
            "Connect as one charger, boot (unless --no-boot), send a CALL of any action checked against "
            "its schema (--action/--payload or --template), or any text as it is (--raw), and print the "
            "frames both ways, the answer and its round trip. Exit 0: CALLRESULT, 1: CALLERROR, "
            "2: bad input or no connection, 3: no answer (timeout or connection closed)."
        ),
    )
    craft.add_argument("--url", help="central system, e.g. ws://127.0.0.1:9000/ocpp (the id is appended)")
    craft.add_argument("--id", default="CRAFT01", dest="charger_id", help="charger id (default CRAFT01)")
    craft.add_argument("--version", choices=("1.6", "2.0.1", "2.1"), default="1.6", help="default 1.6")
    craft.add_argument("--no-boot", action="store_true", help="send the frame without a BootNotification")
    what = craft.add_mutually_exclusive_group()
    what.add_argument("--action", help="an action of the version, sent as a CALL")
    what.add_argument("--raw", metavar="TEXT", help="send TEXT exactly as written, unchecked")
    what.add_argument(
        "--template", metavar="NAME", help="a saved template, or an action's template from its schema"
    )
    what.add_argument("--list-actions", action="store_true", help="list the version's actions and exit")
    craft.add_argument(
        "--payload", metavar="JSON", help="the CALL's payload (default: the action's template)"
    )
    craft.add_argument("--save", metavar="NAME", help="save the action and payload as template NAME")
    craft.add_argument(
        "--template-dir", type=Path, metavar="DIR", help="default $XDG_CONFIG_HOME/voltyard/craft"
    )
    craft.add_argument("--print", action="store_true", help="print the frame and exit without connecting")
    craft.add_argument("--timeout", type=_positive_float, default=10.0, help="answer timeout, seconds")
    craft.add_argument("--frames", type=Path, metavar="FILE", help="write the frames (.json, .csv, text)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 0..65535")
    return port


def _add_plc_sim(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = commands.add_parser(
        "plc-sim",
        help="simulate the DC cabinet's PLCs (and their EVs) on a CAN bus",
        description=(
            "Run one simulated PLC per plcId on a python-can bus, speaking configs/plc.dbc, until "
            "interrupted or for --duration seconds; then print the RelayControl period it measured."
        ),
    )
    sim.add_argument(
        "--interface",
        default="virtual",
        help="python-can interface (default: virtual, which reaches this process only; udp_multicast with a "
        "multicast group as --channel reaches a voltyard serve on this machine, docs/can.md)",
    )
    sim.add_argument("--channel", default="voltyard-cabinet", help="bus channel (default: voltyard-cabinet)")
    sim.add_argument("--bitrate", type=int, default=125_000, help="bit rate (default: 125000)")
    sim.add_argument(
        "--plcs", type=_plc_ids, default=list(range(12)), metavar="IDS", help="plcIds, e.g. 0-11 or 0,3,5"
    )
    sim.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    sim.add_argument("--plug", action="store_true", help="plug an EV into every gun at start")


def _plc_ids(text: str) -> list[int]:
    ids: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a plcId or a range of them") from None
        if not 0 <= low <= high <= 15:
            raise argparse.ArgumentTypeError(f"{part!r}: plcIds are 0-15")
        ids.update(range(low, high + 1))
    return sorted(ids)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["tui"]:
        return run_tui(words[1:])  # verbatim: the console's parser owns every option, --help included
    parser = build_parser()
    args = parser.parse_args(words)
    commands: dict[str, Callable[[], int]] = {
        "check-frames": lambda: run_check_frames(args),
        "check-config": lambda: run_check_config(args),
        "serve": lambda: run_serve(args),
        "sim": lambda: run_sim(args, parser),
        "emulate": lambda: run_emulate(args),
        "demo": lambda: run_demo_command(args),
        "plc-sim": lambda: plc_sim(args),
        "store": lambda: run_store(args),
    }
    command = commands.get(args.command)
    if command is None:
        parser.print_help()
        return 2
    return command()


def run_store(args: argparse.Namespace) -> int:
    """`voltyard store migrate-to-postgresql`: 0 when copied, 2 (one line) when refused or failed."""
    from voltyard.config import redacted_url  # noqa: PLC0415
    from voltyard.store.copy_to_postgresql import copy_to_postgresql  # noqa: PLC0415 - psycopg only here

    where = redacted_url(args.dsn)
    if not args.dsn.startswith(("postgresql://", "postgres://")):
        print(f"voltyard: --dsn: {where!r} is not a postgresql:// URL", file=sys.stderr)
        return 2
    try:
        result = copy_to_postgresql(
            args.data_dir, args.dsn, lambda table, rows: print(f"{table}: {rows} rows", flush=True)
        )
    except VoltyardError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    print(
        f"copied {args.data_dir / 'voltyard.db'} into {where}: {result.total} rows in {len(result.rows)} "
        f'tables; serve from it with [store] backend = "postgresql" and dsn = "{where}"'
    )
    return 0


def run_check_frames(args: argparse.Namespace) -> int:
    try:
        return check_frames(args.files, args.answers, sys.stdin, sys.stdout, args.ocpp)
    except VoltyardError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2


def run_demo_command(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    options = DemoOptions(
        chargers=args.chargers,
        connectors=args.connectors,
        scenario=args.scenario,
        duration=args.duration,
        data_dir=args.data_dir,
        tui=not args.no_tui,
        site_limit_kw=args.site_limit_kw,
        cabinet=not args.no_cabinet,
    )
    try:
        return run_demo(options)
    except VoltyardError as exc:
        print(f"voltyard demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run_emulate(args: argparse.Namespace) -> int:  # noqa: PLR0911 - one exit code per way out
    """`voltyard emulate`: the simulator and its console in one process (or the console alone, attached)."""
    try:
        from voltyard_tui.emulate import EmulatorApp  # noqa: PLC0415 - a separate, optional distribution
    except ImportError:
        print("voltyard emulate: the console is not installed: pip install ./tui", file=sys.stderr)
        return 1
    from voltyard.sim.control import send_command  # noqa: PLC0415 - the simulator loads only here

    # Log records would write over the console's screen: nothing goes to stderr while it runs.
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    if args.control_socket is not None:
        try:
            send_command(args.control_socket, {"command": "status"}, timeout=5.0)
        except VoltyardError as exc:
            print(f"voltyard emulate: {exc}", file=sys.stderr)
            return 1
        EmulatorApp(args.control_socket, title=str(args.control_socket)).run()
        return 0
    if not args.url:
        print(
            "voltyard emulate: give --url (the central system) or --control-socket (a running sim run)",
            file=sys.stderr,
        )
        return 2
    try:
        return asyncio.run(_emulate(args, EmulatorApp))
    except ConfigError as exc:  # a flag's value: a usage error, as for `sim run` and argparse
        print(f"voltyard emulate: {exc}", file=sys.stderr)
        return 2
    except VoltyardError as exc:
        print(f"voltyard emulate: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _emulate(args: argparse.Namespace, app_class: type[EmulatorApp]) -> int:
    import tempfile  # noqa: PLC0415

    from voltyard.sim.fleet import FleetShape  # noqa: PLC0415
    from voltyard.sim.link import ConnectOptions  # noqa: PLC0415
    from voltyard.sim.protocols import parse_protocol  # noqa: PLC0415
    from voltyard.sim.simulation import SimConfig, Simulation  # noqa: PLC0415

    protocol = parse_protocol(args.protocol) if args.protocol is not None else ()
    with tempfile.TemporaryDirectory(prefix="voltyard-emulate-") as run_dir:
        config = SimConfig(
            options=ConnectOptions(args.url, security_profile=args.security_profile, password=args.password),
            shape=FleetShape(args.chargers, args.connectors, args.id_prefix, protocol=protocol),
            scenario="idle",  # no plan: the chargers wait for the keys
            duration=_EMULATE_S,
            control_socket=Path(run_dir) / "control.sock",
            keep_frames=True,
        )
        simulation = Simulation(config, warn=lambda message: None)
        try:
            await simulation.start()
            fleet = simulation.fleet
            assert fleet is not None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + args.connect_timeout
            while fleet.booted_once < len(fleet.chargers):
                if simulation.connect_error is not None and fleet.connected_once == 0:
                    print(f"voltyard emulate: cannot connect to {simulation.connect_error}", file=sys.stderr)
                    return 1
                if loop.time() > deadline:
                    print(
                        f"voltyard emulate: {len(fleet.chargers) - fleet.booted_once} of "
                        f"{len(fleet.chargers)} chargers not booted within {args.connect_timeout:g} s "
                        "(--connect-timeout)",
                        file=sys.stderr,
                    )
                    return 1
                await asyncio.sleep(0.05)
            simulation.begin()
            assert config.control_socket is not None
            await app_class(config.control_socket, title=args.url).run_async()
        finally:
            await simulation.give_up()
    return 0


def run_tui(tui_args: list[str]) -> int:
    try:
        from voltyard_tui.cli import main as tui_main  # noqa: PLC0415 - a separate, optional distribution
    except ImportError:
        print("voltyard: the console is not installed: pip install ./tui", file=sys.stderr)
        return 1
    return int(tui_main(tui_args) or 0)


def _load(args: argparse.Namespace) -> Config:
    """The configuration of `serve` and `check-config`: the file, then the flags that were given."""
    overrides = {
        "server": {"data_dir": args.data_dir, "host": args.host, "port": args.port, "api_port": args.api_port}
    }
    return load_config(args.config, overrides)


def run_check_config(args: argparse.Namespace) -> int:
    """`voltyard check-config`: 0 and the effective configuration, or 2 and the one-line error."""
    try:
        config = _load(args)
        if config.security.cert_file is not None:  # the material must load, not only exist
            server_context(config.security, str(config.source or "<defaults>"))
    except ConfigError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_config(config))
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """`voltyard serve`: exit 0 after a clean stop, 2 on a configuration error or an unusable store, 1 on
    another start failure."""
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    try:
        # Loaded here, not with the command: the central system's action tables need every version's
        # schemas, which `check-frames --ocpp 1.6` and `check-config` do not.
        from voltyard.runtime import serve  # noqa: PLC0415

        serve(config, args.loop)
    except (ConfigError, SchemaLoadError) as exc:  # configured material or schemas that cannot be loaded
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    except (StoreUnusableError, StoreUnreachableError) as exc:  # damaged, newer, or its server is not there
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    except VoltyardError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"voltyard: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_sim_control(args: argparse.Namespace, socket_path: Path) -> int:
    """`voltyard sim inject-fault | stations | station`: one command to a running simulator."""
    from voltyard.sim import commands  # noqa: PLC0415 - the simulator loads only for `sim`

    if args.sim_command == "inject-fault":
        return commands.inject_fault(
            socket_path, args.charger, args.connector, args.code, out=sys.stdout, err=sys.stderr
        )
    if args.sim_command == "stations":
        return commands.stations(socket_path, out=sys.stdout, err=sys.stderr)
    return commands.station(socket_path, args.action, args.charger, out=sys.stdout, err=sys.stderr)


def run_sim(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`voltyard sim run | scenarios | inject-fault | stations | station`: options to configuration, then
    `sim.commands`."""
    from voltyard.sim import commands  # noqa: PLC0415 - the simulator loads only for `sim`
    from voltyard.sim.control import default_socket_path  # noqa: PLC0415

    socket_path = getattr(args, "control_socket", None) or default_socket_path()
    if args.sim_command == "scenarios":
        return commands.list_scenarios(sys.stdout)
    if args.sim_command in ("inject-fault", "stations", "station"):
        return _run_sim_control(args, socket_path)
    if args.sim_command == "craft":
        return run_craft(args)
    if args.sim_command != "run":
        parser.parse_args(["sim", "--help"])
        return 2
    from voltyard.sim.fleet import FleetShape  # noqa: PLC0415
    from voltyard.sim.link import ConnectOptions  # noqa: PLC0415
    from voltyard.sim.load import LoadConfig, parse_mix  # noqa: PLC0415
    from voltyard.sim.protocols import parse_protocol  # noqa: PLC0415
    from voltyard.sim.simulation import SimConfig  # noqa: PLC0415

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from voltyard.sim.templates import load_fleet  # noqa: PLC0415

    try:
        load = None
        if args.load is not None:
            load = LoadConfig(args.load, args.rate, args.concurrency, parse_mix(args.mix))
        protocol = parse_protocol(args.protocol) if args.protocol is not None else ()
        shape = FleetShape(args.chargers, args.connectors, args.id_prefix, protocol=protocol)
        if args.fleet is not None:
            fleet = load_fleet(args.fleet)
            stations = tuple(fleet.templates())
            shape = FleetShape(
                len(stations),
                max(len(template.connectors) for _, template in stations),
                stations=stations,
                protocol=protocol,
            )
    except ConfigError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    options = ConnectOptions(
        args.url,
        security_profile=args.security_profile,
        password=args.password,
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.key_file,
        call_timeout=args.call_timeout,
        backoff_base=args.backoff_base,
        backoff_cap=args.backoff_cap,
    )
    config = SimConfig(
        options=options,
        shape=shape,
        scenario=args.scenario,
        seed=args.seed,
        duration=args.duration,
        site_limit_kw=args.site_limit_kw,
        sample_interval=args.sample_interval,
        load=load,
        connect_timeout=args.connect_timeout,
        connect_concurrency=args.connect_concurrency,
        report_path=args.report,
        plot=not args.no_plot,
        action_log_path=args.action_log,
        control_socket=socket_path,
        frames_path=args.frames,
        frames_format=args.frames_format,
        frames_limit=args.frames_limit,
    )
    return commands.run(config, progress=args.progress, loop=args.loop, out=sys.stdout, err=sys.stderr)


def _craft_request(args: argparse.Namespace, directory: Path) -> CraftRequest:
    """The crafter's frame from --action/--payload, --template or --raw; a CALL is checked (and saved)."""
    from voltyard.sim import craft  # noqa: PLC0415

    action, payload, raw = args.action, None, args.raw
    if args.template is not None:
        action, payload = craft.recall_template(args.template, args.version, directory)
    if args.payload is not None:
        if action is None:
            raise craft.CraftError("--payload needs --action or --template")
        try:
            payload = json.loads(args.payload)
        except ValueError as exc:
            raise craft.CraftError(f"--payload is not JSON: {exc} (use --raw for broken frames)") from exc
    if raw is None:
        if action is None:
            raise craft.CraftError("give --action ACTION, --template NAME or --raw TEXT")
        if payload is None:
            payload = craft.payload_template(args.version, action)
        craft.check_payload(args.version, action, payload)
        if args.save is not None:
            saved = craft.save_template(args.save, args.version, action, payload, directory)
            print(f"saved template {args.save}: {saved}", file=sys.stderr)
    return craft.CraftRequest(
        url=args.url or "",
        charger_id=args.charger_id,
        version=args.version,
        boot=not args.no_boot,
        action=action,
        payload=payload,
        raw=raw,
        timeout=args.timeout,
        frames_path=args.frames,
    )


def run_craft(args: argparse.Namespace) -> int:
    """`voltyard sim craft`: the frame from the options, then `sim.craft`; see its exit codes."""
    from voltyard.sim import craft  # noqa: PLC0415

    directory = args.template_dir or craft.default_template_dir()
    try:
        if args.list_actions:
            for action in craft.actions(args.version):
                print(action)
            return 0
        request = _craft_request(args, directory)
        if args.print:
            print(craft.outgoing(request, "craft-1")[0].decode())
            return 0
        if not args.url:
            raise craft.CraftError("--url is needed to send (or --print to only show the frame)")
        if not args.url.startswith(("ws://", "wss://")):
            raise craft.CraftError(f"--url {args.url!r}: must start with ws:// or wss://")
        return asyncio.run(craft.craft(request, sys.stdout, sys.stderr))
    except VoltyardError as exc:
        print(f"voltyard sim craft: {exc}", file=sys.stderr)
        return 2


def plc_sim(args: argparse.Namespace) -> int:
    from voltyard.sim import plc  # noqa: PLC0415 (python-can is imported only for this command)

    try:
        bus = BusConfig(interface=args.interface, channel=args.channel, bitrate=args.bitrate)
        sim = asyncio.run(plc.run(bus, args.plcs, args.duration, args.plug))
    except VoltyardError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    print(f"RelayControl received: {sim.period_stats()}")
    return 0


def check_frames(
    files: Sequence[Path], answers: str | None, stdin: TextIO, out: TextIO, version: str = "1.6"
) -> int:
    """Print a verdict per frame of OCPP `version`; 0 when all are accepted, 1 otherwise."""
    codec = load_codec(version)
    refused = 0
    for where, frame in _frames(files, stdin):
        try:
            decoded = codec.decode(frame, answers)
        except OcppError as exc:
            refused += 1
            print(f"{where}: {exc.code} (message id {exc.message_id!r}): {exc.description}", file=out)
            continue
        print(f"{where}: ok {_summary(decoded)}", file=out)
    return 1 if refused else 0


def _frames(files: Sequence[Path], stdin: TextIO) -> Iterator[tuple[str, bytes]]:
    if not files or files == [Path("-")]:
        for number, line in enumerate(stdin, start=1):
            if line.strip():
                yield f"<stdin>:{number}", line.encode("utf-8", "surrogateescape")
        return
    for path in files:
        try:
            yield str(path), path.read_bytes()
        except OSError as exc:
            raise VoltyardError(f"{path}: {exc.strerror}") from exc


def _summary(frame: Call | CallResult | CallError | CallResultError | Send) -> str:
    match frame:
        case Call(message_id, action, _):
            return f"CALL {action} {message_id}"
        case CallResult(message_id, _):
            return f"CALLRESULT {message_id}"
        case CallError(message_id, code, _, _):
            return f"CALLERROR {code} {message_id}"
        case CallResultError(message_id, code, _, _):
            return f"CALLRESULTERROR {code} {message_id}"
        case Send(message_id, action, _):
            return f"SEND {action} {message_id}"
    raise AssertionError(frame)


if __name__ == "__main__":
    sys.exit(main())
