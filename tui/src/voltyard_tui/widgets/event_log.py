"""The events/alerts panel: one line per domain event, alerts in colour."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog

from voltyard_tui.models import Event
from voltyard_tui.widgets.uplink import UPLINK_STYLES

__all__ = ["EventLog", "describe"]

_STYLES = {
    "Alert": "bold red",
    "Warning": "yellow",
    "SecurityEvent": "magenta",
    "ChargerDisconnected": "grey58",
    "ChargerConnected": "green",
    "TransactionStarted": "cyan",
    "TransactionStopped": "cyan",
}


_WRITTEN = 64
"""The newest written events an `add` is checked against (the live ones of one redraw's race, with room)."""


def clock_time(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


def describe(event: Event) -> str:
    """A short human line for an event's data (the common kinds spelled out, the rest as key=value)."""
    data = event.data
    kind = event.kind
    if kind == "ConnectorStatusChanged":
        before = f"{data.get('previous')} → " if data.get("previous") else ""
        error = data.get("errorCode")
        fault = f" ({error})" if error and error != "NoError" else ""
        return f"connector {data.get('connectorId')}: {before}{data.get('status')}{fault}"
    if kind == "TransactionStarted":
        where = f"on connector {data.get('connectorId')}"
        return f"transaction {data.get('transactionId')} {where} for {data.get('idTag')}"
    if kind in ("TransactionStopped", "TransactionStopFlagged"):
        reason = data.get("reason") or data.get("stopReason") or ""
        return f"transaction {data.get('transactionId')} stopped ({reason})"
    if kind in ("CommandSent", "CommandAnswered"):
        return str(data.get("action", ""))
    if kind == "UplinkStateChanged":
        why = f" ({data['detail']})" if data.get("detail") else ""
        return f"uplink {data.get('state')}{why}"
    if kind == "UplinkProfileCapped":
        return (
            f"connector {data.get('connectorId')}: upstream profile {data.get('requestedKw')} kW "
            f"capped to {data.get('capKw')} kW ({data.get('unit')})"
        )
    return " ".join(f"{key}={value}" for key, value in data.items())


def event_line(event: Event) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{clock_time(event.time)} ", style="grey58")
    line.append(f"{event.charger_id or 'site':<10} ", style="bold")
    style = _STYLES.get(event.kind, "")
    if event.kind == "UplinkStateChanged":  # the link's own colour: online green, offline red
        style = UPLINK_STYLES.get(str(event.data.get("state")), "")
    line.append(f"{event.kind:<23}", style=style)
    line.append(" ")
    line.append(describe(event))
    return line


class EventLog(RichLog):
    """A scrolling log of events; newest at the bottom, bounded."""

    DEFAULT_CSS = """
    EventLog {
        border: round $panel-lighten-2;
        border-title-color: $text-accent;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, max_lines: int = 500, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, wrap=False, markup=False, auto_scroll=True, id=id)
        self.shown = 0
        self._written: deque[Event] = deque(maxlen=_WRITTEN)

    def on_mount(self) -> None:
        self.border_title = "Events and alerts"

    def add(self, event: Event) -> None:
        """Write one event, unless this very event (the state's object) is written already: a live event that
        arrives between the log's snapshot and the screen's redraw from it is in both, and was shown twice."""
        if any(written is event for written in self._written):
            return
        self._written.append(event)
        self.write(event_line(event))
        self.shown += 1

    def show_events(self, events: Iterable[Event]) -> None:
        self.clear()
        self._written.clear()
        self.shown = 0
        for event in events:
            self.add(event)
