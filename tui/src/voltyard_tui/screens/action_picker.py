"""Pick a CSMS-initiated action by typing part of its name."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from voltyard_tui.actions import ACTIONS

__all__ = ["ActionPicker"]


class ActionPicker(ModalScreen[str | None]):
    """A filterable list of every action; dismisses with the chosen name (None on Escape)."""

    DEFAULT_CSS = """
    ActionPicker { align: center middle; }
    ActionPicker > Vertical {
        width: 80;
        height: 30;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    ActionPicker OptionList { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Send a command"
            yield Input(placeholder="type to filter actions", id="action-filter")
            yield OptionList(id="actions")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, needle: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for spec in ACTIONS.values():
            if needle.lower() in spec.name.lower():
                label = Text.assemble((f"{spec.name:<28}", "bold"), (spec.summary, "grey70"))
                if spec.security:
                    label.append("  security", style="magenta")
                options.add_option(Option(label, id=spec.name))
        if options.option_count:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            self.dismiss(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_cancel(self) -> None:
        self.dismiss(None)
