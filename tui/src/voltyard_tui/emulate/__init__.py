"""`voltyard emulate`: a console for simulated chargers, driven through the simulator's control socket."""

from voltyard_tui.emulate.app import EmulatorApp
from voltyard_tui.emulate.client import ControlClient, ControlRefusedError, ControlUnreachableError

__all__ = ["ControlClient", "ControlRefusedError", "ControlUnreachableError", "EmulatorApp"]
