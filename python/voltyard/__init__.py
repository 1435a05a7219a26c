"""Voltyard: a charging-site appliance.

An OCPP 1.6J central system for the site's networked chargers, the controller of its CAN-attached DC
cabinet, and the control API that its Textual console talks to. The per-message and per-tick work
runs in the Rust extension `voltyard._native`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voltyard")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
