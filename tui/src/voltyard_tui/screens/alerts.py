"""Alerts: the open ones (or all), newest first; `a` acknowledges one in the operator's name."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import Alert, format_time
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.screens.forms import describe_error
from voltyard_tui.state import Change

__all__ = ["AlertsScreen"]


def _details(alert: Alert) -> str:
    return " ".join(f"{k}={v}" for k, v in alert.data.items() if k != "kind")


class AlertsScreen(ConsoleScreen):
    """GET /alerts?state=open|all; POST /alerts/{seq}/ack."""

    AUTO_FOCUS = "#alerts"
    DEFAULT_CSS = """
    AlertsScreen #alerts { height: 1fr; }
    AlertsScreen #alerts-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("o", "toggle_all", "Open/all"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[int, Alert] = {}
        self.show_all = False
        self._acking: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="alerts-status")
        yield DataTable[str | Text](id="alerts", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#alerts", DataTable)
        for label in ("Seq", "Time", "Charger", "Alert", "Details", "Acknowledged"):
            table.add_column(label, key=label)
        super().on_mount()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def on_change(self, change: Change) -> None:
        event = change.event
        if event is not None and (event.category == "alert" or event.kind == "AlertAcknowledged"):
            self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="alerts")
    @while_attached
    async def _load(self) -> None:
        try:
            alerts = await self.console.client.alerts(state="all" if self.show_all else "open")
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        self.alerts = {a.seq: a for a in alerts}
        table = self.query_one("#alerts", DataTable)
        table.clear()
        for alert in alerts:
            acked = (
                Text(
                    f"{alert.acknowledged_by} {format_time(alert.acknowledged_at, '%H:%M:%S')}",
                    style="grey58",
                )
                if alert.acknowledged_by
                else Text("open", style="bold red")
            )
            table.add_row(
                str(alert.seq),
                format_time(alert.time),
                alert.charger_id or "site",
                Text(alert.what, style="bold"),
                _details(alert),
                acked,
                key=str(alert.seq),
            )
        open_count = sum(1 for a in alerts if a.acknowledged_by is None)
        scope = "all alerts" if self.show_all else "open alerts"
        self._say(f"{scope}: {len(alerts)} shown, {open_count} open · operator {self.console.operator}")

    def _say(self, text: Text | str) -> None:
        self.query_one("#alerts-status", Static).update(text)

    def selected(self) -> int | None:
        table = self.query_one("#alerts", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if isinstance(key, str) and key.isdigit() else None

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.action_reload()

    def action_acknowledge(self) -> None:
        seq = self.selected()
        alert = self.alerts.get(seq if seq is not None else -1)
        if alert is None or alert.acknowledged_by is not None or alert.seq in self._acking:
            return
        self._acking.add(alert.seq)
        self._ack(alert)

    @work(group="alerts-ack")
    @while_attached
    async def _ack(self, alert: Alert) -> None:
        try:
            await self.console.client.ack_alert(alert.seq, self.console.operator)
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        finally:
            self._acking.discard(alert.seq)
        self.notify(f"{alert.what} on {alert.charger_id or 'site'} acknowledged", title="Alerts")
        self.action_reload()
