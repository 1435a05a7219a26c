"""Voltyard operator console: a Textual TUI for the Voltyard OCPP central system."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("voltyard-tui")
except PackageNotFoundError:  # running from a source tree without an installed distribution
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
