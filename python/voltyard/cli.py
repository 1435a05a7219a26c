"""The `voltyard` command: argument parsing and dispatch only.

Subcommands arrive with their features; `check-frames` runs OCPP-J frames through the same native
decoder and OCPP 1.6 schemas that the central system uses.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from voltyard import __version__
from voltyard._native import Call, CallError, CallResult
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "check-frames":
        try:
            return check_frames(args.files, args.answers, sys.stdin, sys.stdout)
        except VoltyardError as exc:
            print(f"voltyard: {exc}", file=sys.stderr)
            return 2
    parser.print_help()
    return 2


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
