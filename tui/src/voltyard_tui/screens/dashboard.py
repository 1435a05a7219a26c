"""The dashboard: site power and its limit, the uplink, charger counts, active sessions and recent events."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import Event, format_time
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.state import CHATTY_KINDS, Change
from voltyard_tui.widgets.event_log import EventLog
from voltyard_tui.widgets.power_bar import PowerBar
from voltyard_tui.widgets.uplink import UplinkLine

__all__ = ["DashboardScreen"]

DASHBOARD_CATEGORIES = ("alert", "operator", "charger", "transaction")
_SESSION_EVENTS = frozenset({"TransactionStarted", "TransactionStopped", "TransactionForceClosed"})


class Count(Static):
    """One big number with its label."""

    DEFAULT_CSS = """
    Count {
        width: 1fr;
        height: 4;
        border: round $panel-lighten-2;
        content-align: center middle;
        text-align: center;
    }
    """

    def show(self, value: int, label: str, style: str) -> None:
        self.update(Text.assemble((f"{value}\n", f"bold {style}"), (label, "grey70")))


class DashboardScreen(ConsoleScreen):
    """The site at a glance."""

    AUTO_FOCUS = "#sessions"

    DEFAULT_CSS = """
    DashboardScreen #counts { height: 4; }
    DashboardScreen #lower { height: 1fr; }
    DashboardScreen #sessions {
        width: 5fr;
        border: round $panel-lighten-2;
        border-title-color: $text-accent;
    }
    DashboardScreen EventLog { width: 4fr; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="dashboard"):
            yield PowerBar(id="power")
            yield UplinkLine(id="uplink")
            with Horizontal(id="counts"):
                yield Count(id="count-online")
                yield Count(id="count-offline")
                yield Count(id="count-faulted")
                yield Count(id="count-sessions")
            with Horizontal(id="lower"):
                yield DataTable[str](id="sessions", cursor_type="row", zebra_stripes=True)
                yield EventLog(id="dashboard-events", max_lines=200)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#sessions", DataTable)
        table.border_title = "Active sessions"
        for label in ("Tx", "Charger", "Conn", "Id tag", "Started", "kWh", "kW"):
            table.add_column(label, key=label)

    def redraw(self) -> None:
        self._draw_power()
        self._draw_uplink()
        self._draw_counts()
        self._draw_sessions()
        self.query_one(EventLog).show_events(self._recent())

    def on_change(self, change: Change) -> None:
        if change.what == "event" and change.event is not None:
            if change.event.category in DASHBOARD_CATEGORIES and change.event.kind not in CHATTY_KINDS:
                self.query_one(EventLog).add(change.event)
            if change.charger_id is not None:
                self._draw_counts()
            if change.event.kind in _SESSION_EVENTS:
                self._reload_sessions()
            elif change.event.kind == "MeterValues":
                self._draw_sessions()
        elif change.what == "events":
            self.query_one(EventLog).show_events(self._recent())
        elif change.what == "health" and self.is_current and self.console.state.active_sessions:
            self._draw_power()
            self._draw_uplink()
            self._reload_sessions()  # their energy so far: no event per meter reading, so read again
        elif change.what in ("health", "chargers", "sessions"):
            self._draw_power()
            self._draw_uplink()
            self._draw_counts()
            self._draw_sessions()

    @work(exclusive=True, group="sessions")
    @while_attached
    async def _reload_sessions(self) -> None:
        try:
            sessions = await self.console.client.transactions(active=True, limit=1000)
        except (ApiError, ApiUnreachableError):
            return  # the connection status says why; the table keeps the last known sessions
        self.console.state.active_sessions = tuple(sessions)
        self._draw_counts()
        self._draw_sessions()

    def _recent(self) -> list[Event]:
        """What the dashboard's log shows: no power bookkeeping, no meter readings (the events screen has
        them); alerts, operator actions, chargers and sessions."""
        return self.console.state.events_of(DASHBOARD_CATEGORIES)[-200:]

    def _draw_power(self) -> None:
        state = self.console.state
        site = state.site
        self.query_one(PowerBar).show(
            state.power_kw,
            state.limit_kw,
            state.power_history,
            site.chargers_kw if site else None,
            site.cabinet_kw if site else None,
        )

    def _draw_uplink(self) -> None:
        """The uplink's state, queue and last sync as of the last poll of /health; hidden when it is off."""
        health = self.console.state.health
        self.query_one(UplinkLine).show(health.uplink if health else None, self.console.clock())

    def _draw_counts(self) -> None:
        state = self.console.state
        counts = state.counts()
        self.query_one("#count-online", Count).show(counts["online"], "online", "green")
        self.query_one("#count-offline", Count).show(counts["offline"], "offline", "grey70")
        self.query_one("#count-faulted", Count).show(counts["faulted"], "faulted", "red")
        self.query_one("#count-sessions", Count).show(len(state.active_sessions), "active sessions", "cyan")

    def _draw_sessions(self) -> None:
        state = self.console.state
        table = self.query_one("#sessions", DataTable)
        table.clear()
        for tx in sorted(state.active_sessions, key=lambda t: t.id):
            started = format_time(tx.start_time, "%H:%M:%S")
            power = state.power_w.get((tx.charger_id, tx.connector_id))
            kw = f"{power / 1000:.1f}" if power is not None else "–"
            energy = "–" if tx.energy_wh is None else f"{tx.energy_wh / 1000:.2f}"
            table.add_row(
                str(tx.id),
                tx.charger_id,
                str(tx.connector_id),
                tx.id_tag,
                started,
                energy,
                kw,
                key=str(tx.id),
            )
