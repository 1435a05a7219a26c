"""The events and alerts log: the newest events of the appliance's log, then live events; filterable.

Each event carries the API's category (alert, operator, charger, transaction, power); a checkbox per
category shows or hides it, and one more the meter readings (MeterValues). The power manager's bookkeeping
(plans, its own commands) and the meter readings are hidden until asked for, so alerts and what operators
did are not drowned by them.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Checkbox, Footer, Header, Input, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import CATEGORIES, Event
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.state import CHATTY_KINDS, Change
from voltyard_tui.widgets.event_log import EventLog, describe

__all__ = ["CATEGORY_LABELS", "HIDDEN_BY_DEFAULT", "EventsScreen"]

CATEGORY_LABELS = {
    "alert": "alerts",
    "operator": "operator",
    "charger": "chargers",
    "transaction": "transactions",
    "power": "power plans",
}
HIDDEN_BY_DEFAULT = frozenset({"power"})
METER = "meter"
"""The meter readings (MeterValues, many a minute per charger): a checkbox of their own, off by default."""


class EventsScreen(ConsoleScreen):
    """All events, or only alerts; filter by text."""

    AUTO_FOCUS = "EventLog"
    DEFAULT_CSS = """
    EventsScreen #events-controls { height: 3; padding: 0 1; }
    EventsScreen #events-categories { height: 3; padding: 0 1; }
    EventsScreen #events-categories Checkbox { width: auto; margin-right: 1; }
    EventsScreen #events-filter { width: 1fr; }
    EventsScreen #events-status { height: 1; padding: 0 1; color: $text-muted; }
    EventsScreen EventLog { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "toggle_alerts", "Alerts only"),
        Binding("r", "reload", "Reload"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "focus_log", "Leave filter", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="events-controls"):
            yield Input(placeholder="filter: charger, kind or text", id="events-filter")
        with Horizontal(id="events-categories"):
            for category in CATEGORIES:
                yield Checkbox(
                    CATEGORY_LABELS[category], category not in HIDDEN_BY_DEFAULT, id=f"category-{category}"
                )
            yield Checkbox("meter readings", False, id=f"category-{METER}")
        yield Static("", id="events-status")
        yield EventLog(id="events-log", max_lines=1000)
        yield Footer()

    def action_reload(self) -> None:
        self._reload()

    @work(exclusive=True, group="events")
    @while_attached
    async def _reload(self) -> None:
        try:
            await self.console.load_events()
        except (ApiError, ApiUnreachableError) as exc:
            self.query_one("#events-status", Static).update(
                Text(f"Could not load events: {exc}", style="red")
            )

    def shown_categories(self) -> set[str]:
        return {c for c in CATEGORIES if self.query_one(f"#category-{c}", Checkbox).value}

    def meter_readings(self) -> bool:
        return self.query_one(f"#category-{METER}", Checkbox).value

    def _wanted(self, event: Event) -> bool:
        if event.kind in CHATTY_KINDS:
            if not self.meter_readings():
                return False
        elif event.category in CATEGORIES and event.category not in self.shown_categories():
            return False
        needle = self.query_one("#events-filter", Input).value.strip().lower()
        line = f"{event.charger_id or 'site'} {event.kind} {describe(event)}".lower()
        return all(word in line for word in needle.split())

    def redraw(self) -> None:
        log = self.query_one(EventLog)
        shown = self.shown_categories()
        events = self.console.state.events_of(shown, chatty=self.meter_readings())
        log.show_events(e for e in events if self._wanted(e))
        self._status()

    def _status(self) -> None:
        total = len(self.console.state.events)
        shown = self.query_one(EventLog).shown
        self.query_one("#events-status", Static).update(f"{shown} of {total} events shown")

    def on_change(self, change: Change) -> None:
        if change.what == "events":
            self.redraw()
        elif change.what == "event" and change.event is not None:
            if self._wanted(change.event):
                self.query_one(EventLog).add(change.event)
            self._status()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.redraw()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.redraw()

    def action_toggle_alerts(self) -> None:
        """Alerts only; pressed again, back to every category but the power bookkeeping."""
        alerts_only = self.shown_categories() == {"alert"} and not self.meter_readings()
        for category in CATEGORIES:
            wanted = category == "alert" or (alerts_only and category not in HIDDEN_BY_DEFAULT)
            self.query_one(f"#category-{category}", Checkbox).value = wanted
        self.query_one(f"#category-{METER}", Checkbox).value = False

    def action_focus_log(self) -> None:
        self.query_one(EventLog).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#events-filter", Input).focus()
