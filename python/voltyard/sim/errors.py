"""The simulator's errors, rooted in `voltyard.errors.VoltyardError` like every other Voltyard error.

They live beside the simulator rather than in `voltyard/errors.py` because nothing outside `sim/` raises
or catches them.
"""

from __future__ import annotations

from voltyard.errors import ConfigError, VoltyardError

__all__ = ["ConnectError", "ControlError", "ScenarioError", "SimError", "TransitionError"]


class SimError(VoltyardError):
    """Root of the simulator's errors."""


class TransitionError(SimError, ValueError):
    """An EVSE event that its current state does not allow (e.g. starting a session while Faulted)."""

    def __init__(self, connector_id: int, status: str, event: str) -> None:
        super().__init__(f"connector {connector_id}: {event} is not possible while {status}")
        self.connector_id = connector_id
        self.status = status
        self.event = event


class ScenarioError(SimError, ConfigError):
    """An unknown scenario, or a scenario file with a bad key or value; names the file and the key."""


class ControlError(SimError):
    """The control socket of a running simulator could not be reached or refused a command."""


class ConnectError(SimError):
    """No charger of the run could reach the central system within the connect timeout."""
