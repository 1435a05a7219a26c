"""The websocket side of a simulated charger: `voltyard.ws_client`, shared with the uplink (one client of
an OCPP charge point for both)."""

from voltyard.ws_client import ConnectOptions, Link, LinkOwner, backoff_delay, open_link

__all__ = ["ConnectOptions", "Link", "LinkOwner", "backoff_delay", "open_link"]
