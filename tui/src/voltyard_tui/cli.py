"""`voltyard-tui`: parse the command line, find the token, run the console."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voltyard_tui import __version__
from voltyard_tui.app import DEFAULT_API_URL, VoltyardApp, default_operator
from voltyard_tui.client import ApiClient
from voltyard_tui.tokens import TokenError, resolve_token

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voltyard-tui",
        description="Textual operator console for the Voltyard charging-site appliance.",
    )
    parser.add_argument(
        "--api-url",
        default=DEFAULT_API_URL,
        metavar="URL",
        help=f"base URL of the appliance's control API (default: {DEFAULT_API_URL})",
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help="file holding the bearer token (default: api-token-operator, else api-token-readonly, "
        "in the appliance's data directory ~/.local/share/voltyard)",
    )
    token.add_argument(
        "--token", metavar="TOKEN", help="the bearer token itself (visible to `ps`; prefer a file)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="the appliance's data directory, where the token files are",
    )
    parser.add_argument(
        "--operator",
        metavar="NAME",
        default=None,
        help="who the appliance's audit records for changes made here "
        f"(default: the login name, now {default_operator()!r})",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the console; returns its exit code (2 when no token can be found)."""
    args = build_parser().parse_args(argv)
    try:
        credentials = resolve_token(args.token, args.token_file, args.data_dir)
    except TokenError as exc:
        print(f"voltyard-tui: {exc}", file=sys.stderr)
        return 2
    app = VoltyardApp(
        ApiClient(args.api_url, credentials.token),
        read_only=credentials.read_only,
        operator=args.operator or default_operator(),
    )
    app.run()
    return app.return_code or 0
