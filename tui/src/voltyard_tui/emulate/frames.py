"""The emulator's frame pane filters: direction, message type, action and a content search.

The pane keeps every frame it has polled (up to `KEEP`) and shows those the filter lets through, so a
changed filter applies to what is already there as well as to what comes next, and clearing it shows
everything again. Action and search are case-insensitive substrings, as in the operator console's
inspector (`RowFilter`); direction and type are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Select

from voltyard_tui.widgets.message_table import MessageRow

__all__ = ["KEEP", "FilterScreen", "FrameFilter"]

KEEP = 5000  # frames of the selected charger the pane holds for re-filtering
DIRECTIONS = [("out (the charger sent)", "out"), ("in (the charger received)", "in")]
# The pane's names for the OCPP-J message types (frame_row maps CALLRESULT to RESULT, CALLERROR to ERROR).
TYPES = [("CALL", "CALL"), ("CALLRESULT", "RESULT"), ("CALLERROR", "ERROR")]


@dataclass(frozen=True, slots=True)
class FrameFilter:
    """Which frames the pane shows; the empty filter shows all."""

    direction: str = ""
    message_type: str = ""
    action: str = ""
    search: str = ""

    def __call__(self, row: MessageRow) -> bool:
        return (
            (not self.direction or row.direction == self.direction)
            and (not self.message_type or row.message_type == self.message_type)
            and self.action.lower() in row.action.lower()
            and self.search.lower() in row.frame.lower()
        )

    def __bool__(self) -> bool:
        return bool(self.direction or self.message_type or self.action or self.search)

    def describe(self) -> str:
        """The active filters in a few words (for the pane's title)."""
        names = dict(TYPES)
        parts = [
            self.direction and f"dir {self.direction}",
            self.message_type and f"type {next(k for k, v in names.items() if v == self.message_type)}",
            self.action and f"action ~{self.action}",
            self.search and f"search {self.search!r}",
        ]
        return ", ".join(part for part in parts if part)


class FilterScreen(ModalScreen[FrameFilter | None]):
    """Set the frame pane's filters (Enter in a box: apply; ctrl+r: clear all; Escape: never mind)."""

    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > Vertical { width: 72; height: auto; border: round $accent; padding: 0 1; }
    FilterScreen Horizontal { height: auto; }
    FilterScreen Select { width: 1fr; }
    """
    AUTO_FOCUS = "#filter-search"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply"),
        Binding("ctrl+r", "clear", "Clear all"),
    ]

    def __init__(self, current: FrameFilter, actions: list[str]) -> None:
        super().__init__()
        self.current = current
        self.actions = actions

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Filter the frames: Enter applies, ctrl+r clears all, Escape cancels")
            with Horizontal():
                yield Select(DIRECTIONS, prompt="both ways", value=self.current.direction or Select.NULL,
                             id="filter-direction")  # fmt: skip
                yield Select(TYPES, prompt="every type", value=self.current.message_type or Select.NULL,
                             id="filter-type")  # fmt: skip
            yield Input(
                self.current.action,
                placeholder="action (part of its name)",
                suggester=SuggestFromList(self.actions, case_sensitive=False),
                id="filter-action",
            )
            yield Input(
                self.current.search, placeholder="search the frame text (e.g. an idTag)", id="filter-search"
            )

    def chosen(self) -> FrameFilter:
        direction: Select[str] = self.query_one("#filter-direction", Select)
        kind: Select[str] = self.query_one("#filter-type", Select)
        return FrameFilter(
            "" if direction.is_blank() else str(direction.value),
            "" if kind.is_blank() else str(kind.value),
            self.query_one("#filter-action", Input).value.strip(),
            self.query_one("#filter-search", Input).value.strip(),
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        self.dismiss(self.chosen())

    def action_clear(self) -> None:
        self.dismiss(FrameFilter())

    def action_cancel(self) -> None:
        self.dismiss(None)
