"""The chargers list: live, filtered as you type; Enter opens a charger."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Static

from voltyard_tui.screens.base import ConsoleScreen
from voltyard_tui.screens.charger_detail import ChargerDetailScreen
from voltyard_tui.state import Change
from voltyard_tui.widgets.charger_table import ChargerTable

__all__ = ["ChargersScreen"]


class ChargersScreen(ConsoleScreen):
    """Every charger the appliance knows, one row each."""

    AUTO_FOCUS = "ChargerTable"

    DEFAULT_CSS = """
    ChargersScreen #filter { margin: 0 1; }
    ChargersScreen #chargers-summary { height: 1; margin: 0 2; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="Filter: id, vendor, model, online/offline/faulted, a connector status…", id="filter"
        )
        yield Static("", id="chargers-summary")
        yield ChargerTable(clock=self.console.clock, id="chargers")
        yield Footer()

    def redraw(self) -> None:
        self.query_one(ChargerTable).set_chargers(self.console.state.chargers.values())
        self._summarise()

    def on_change(self, change: Change) -> None:
        if change.what == "chargers":
            self.redraw()
        elif change.what == "event" and change.charger_id is not None:
            charger = self.console.state.chargers.get(change.charger_id)
            if charger is not None:
                self.query_one(ChargerTable).update_charger(charger)
                self._summarise()

    def _summarise(self) -> None:
        table = self.query_one(ChargerTable)
        total = len(self.console.state.chargers)
        shown = table.row_count
        counts = self.console.state.counts()
        text = f"{shown} of {total} chargers shown · {counts['online']} online · {counts['offline']} offline"
        text += f" · {counts['faulted']} faulted"
        self.query_one("#chargers-summary", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(ChargerTable).set_filter(event.value)
            self._summarise()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(ChargerTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one(ChargerTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(ChargerDetailScreen(event.row_key.value))
