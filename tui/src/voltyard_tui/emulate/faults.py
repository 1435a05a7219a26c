"""The fault picker: which error code the `f` key injects.

The codes are those the simulator's `inject-fault` takes (python/voltyard/sim/scenario_file.py,
ERROR_CODES: 1.6's ChargePointErrorCode values but NoError; it takes the same codes for a 2.x charger,
whose StatusNotification carries only the Faulted status, the code staying in the simulator's connector
table). The console does not
import the simulator (it is another distribution), so the list is repeated here and a test holds the two
equal.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

__all__ = ["DEFAULT_CODE", "FAULT_CODES", "FaultScreen"]

DEFAULT_CODE = "OtherError"
FAULT_CODES = (
    "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature", "InternalError",
    "LocalListConflict", "OtherError", "OverCurrentFailure", "OverVoltage", "PowerMeterFailure",
    "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage", "WeakSignal",
)  # fmt: skip


class FaultScreen(ModalScreen[str | None]):
    """Pick the error code (OtherError highlighted; Enter injects it, Escape: never mind)."""

    DEFAULT_CSS = """
    FaultScreen { align: center middle; }
    FaultScreen > Vertical { width: 50; height: auto; border: round $accent; padding: 0 1; }
    FaultScreen OptionList { height: auto; max-height: 17; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Inject a fault at {self.target}")
            codes = OptionList(*FAULT_CODES, id="fault-code")
            codes.highlighted = FAULT_CODES.index(DEFAULT_CODE)
            yield codes

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(FAULT_CODES[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
