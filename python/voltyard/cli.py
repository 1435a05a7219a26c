"""The `voltyard` command: argument parsing and dispatch only.

Subcommands arrive with their features; `check-frames` runs OCPP-J frames through the same native
decoder and OCPP 1.6 schemas that the central system uses.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from voltyard import __version__
from voltyard._native import Call, CallError, CallResult
from voltyard.config import load_config
from voltyard.errors import ConfigError, OcppError, VoltyardError
from voltyard.loops import LOOPS
from voltyard.ocpp.codec import load_codec
from voltyard.runtime import serve


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
    _add_serve(commands)
    return parser


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the central system (OCPP 1.6J server and store)",
        description=(
            "Run the OCPP 1.6J central system on embedded defaults, a configuration file, or both (flags "
            "override the file, the file overrides the defaults). Stops cleanly on SIGINT or SIGTERM."
        ),
    )
    serve.add_argument(
        "--config", type=Path, metavar="FILE", help="a voltyard.toml (see configs/voltyard.toml)"
    )
    serve.add_argument("--data-dir", type=Path, metavar="DIR", help="where the SQLite store lives")
    serve.add_argument("--host", help="address of the OCPP listener (default 0.0.0.0)")
    serve.add_argument("--port", type=_port, help="OCPP websocket port (default 9000; 0 picks a free one)")
    serve.add_argument("--api-port", type=_port, help="control API port (default 8180)")
    serve.add_argument("--loop", choices=LOOPS, default="uvloop", help="event loop (default uvloop)")
    serve.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info", help="default info"
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 0..65535")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "check-frames":
        try:
            return check_frames(args.files, args.answers, sys.stdin, sys.stdout)
        except VoltyardError as exc:
            print(f"voltyard: {exc}", file=sys.stderr)
            return 2
    if args.command == "serve":
        return run_serve(args)
    parser.print_help()
    return 2


def run_serve(args: argparse.Namespace) -> int:
    """`voltyard serve`: exit 0 after a clean stop, 2 on a configuration error, 1 on a start failure."""
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    overrides = {
        "server": {"data_dir": args.data_dir, "host": args.host, "port": args.port, "api_port": args.api_port}
    }
    try:
        config = load_config(args.config, overrides)
    except ConfigError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 2
    try:
        serve(config, args.loop)
    except VoltyardError as exc:
        print(f"voltyard: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"voltyard: cannot start: {exc}", file=sys.stderr)
        return 1
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
