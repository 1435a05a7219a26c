"""The `voltyard` command: argument parsing and dispatch only.

Subcommands arrive with their features; `check-frames` runs OCPP-J frames through the same native
decoder and OCPP 1.6 schemas that the central system uses.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from voltyard import __version__
from voltyard._native import Call, CallError, CallResult
from voltyard.can.config import BusConfig
from voltyard.errors import OcppError, VoltyardError
from voltyard.ocpp.codec import load_codec


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
        help="decode and validate OCPP-J frames against the OCPP 1.6 schemas",
        description=(
            "Decode and validate OCPP-J 1.6 frames. Each FILE holds one frame; with no FILE (or '-'), "
            "every non-blank line of standard input is one frame. Prints one verdict per frame and "
            "exits 1 if any frame is refused."
        ),
    )
    check.add_argument("files", nargs="*", metavar="FILE", type=Path, help="a file holding one frame")
    check.add_argument(
        "--answers",
        metavar="ACTION",
        help="validate CALLRESULT payloads as the response of ACTION (e.g. BootNotification)",
    )
    sim = commands.add_parser(
        "plc-sim",
        help="simulate the DC cabinet's PLCs (and their EVs) on a CAN bus",
        description=(
            "Run one simulated PLC per plcId on a python-can bus, speaking configs/plc.dbc, until "
            "interrupted or for --duration seconds; then print the RelayControl period it measured."
        ),
    )
    sim.add_argument("--interface", default="virtual", help="python-can interface (default: virtual)")
    sim.add_argument("--channel", default="voltyard-cabinet", help="bus channel (default: voltyard-cabinet)")
    sim.add_argument("--bitrate", type=int, default=125_000, help="bit rate (default: 125000)")
    sim.add_argument(
        "--plcs", type=_plc_ids, default=list(range(12)), metavar="IDS", help="plcIds, e.g. 0-11 or 0,3,5"
    )
    sim.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    sim.add_argument("--plug", action="store_true", help="plug an EV into every gun at start")
    return parser


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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "plc-sim":
        return plc_sim(args)
    if args.command == "check-frames":
        try:
            return check_frames(args.files, args.answers, sys.stdin, sys.stdout)
        except VoltyardError as exc:
            print(f"voltyard: {exc}", file=sys.stderr)
            return 2
    parser.print_help()
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


def check_frames(files: Sequence[Path], answers: str | None, stdin: TextIO, out: TextIO) -> int:
    """Print a verdict per frame; 0 when all are accepted, 1 otherwise."""
    codec = load_codec()
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


def _summary(frame: Call | CallResult | CallError) -> str:
    match frame:
        case Call(message_id, action, _):
            return f"CALL {action} {message_id}"
        case CallResult(message_id, _):
            return f"CALLRESULT {message_id}"
        case CallError(message_id, code, _, _):
            return f"CALLERROR {code} {message_id}"
    raise AssertionError(frame)


if __name__ == "__main__":
    sys.exit(main())
