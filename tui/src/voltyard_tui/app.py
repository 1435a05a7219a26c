"""The Voltyard Textual application and its command-line entry point."""

from __future__ import annotations

import argparse
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from voltyard_tui import __version__

DEFAULT_API_URL = "http://127.0.0.1:8180"
"""Base URL of Voltyard's control API used when ``--api-url`` is not given."""

API_PATH = "/api/v1"
"""Path prefix of the REST control API below the base URL."""


class VoltyardApp(App[None]):
    """Operator console for Voltyard; not yet connected to the control API."""

    TITLE = "Voltyard"
    SUB_TITLE = "operator console"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, api_url: str = DEFAULT_API_URL) -> None:
        """Create the app for the control API at ``api_url`` (base URL, without ``/api/v1``)."""
        super().__init__()
        self.api_url = api_url.rstrip("/")

    @property
    def api_endpoint(self) -> str:
        """Full URL of the REST control API the console would use."""
        return f"{self.api_url}{API_PATH}"

    def compose(self) -> ComposeResult:
        """Build the header, placeholder body and footer."""
        yield Header()
        with Vertical(id="body"), Vertical(id="status"):
            yield Static("Not connected to a control API yet.", id="status-message")
            yield Static("Control API:", id="status-api-label")
            yield Static(self.api_endpoint, id="status-api-url", markup=False)
        yield Footer()


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser for ``voltyard-tui``."""
    parser = argparse.ArgumentParser(
        prog="voltyard-tui",
        description="Textual operator console for the Voltyard OCPP central system.",
    )
    parser.add_argument(
        "--api-url",
        default=DEFAULT_API_URL,
        metavar="URL",
        help=f"base URL of Voltyard's control API (default: {DEFAULT_API_URL})",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the console and return its exit code."""
    args = build_parser().parse_args(argv)
    app = VoltyardApp(api_url=args.api_url)
    app.run()
    return app.return_code or 0
