"""The inspector's table of OCPP exchanges, and the one row type it shows for logged and live frames."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from voltyard_tui.models import Event, Exchange

__all__ = ["MessageRow", "MessageTable", "RowFilter"]

_TYPES = {"2": "CALL", "3": "RESULT", "4": "ERROR"}


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One frame (with its reply, when the log has it)."""

    time: float
    charger_id: str
    direction: str
    message_type: str
    message_id: str
    action: str
    frame: str
    reply: str | None = None

    @classmethod
    def from_exchange(cls, exchange: Exchange) -> MessageRow:
        return cls(
            exchange.time,
            exchange.charger_id,
            exchange.direction,
            _TYPES.get(exchange.message_type, exchange.message_type),
            exchange.message_id,
            exchange.action,
            exchange.frame,
            exchange.reply,
        )

    @classmethod
    def from_event(cls, event: Event) -> MessageRow:
        """A live MessageIn/MessageOut event (`{"action", "messageId", "messageType", "frame"}`)."""
        data = event.data
        kind = str(data.get("messageType", ""))
        return cls(
            event.time,
            event.charger_id or "",
            "in" if event.kind == "MessageIn" else "out",
            _TYPES.get(kind, kind),
            str(data.get("messageId", "")),
            str(data.get("action") or ""),
            str(data.get("frame", "")),
        )


@dataclass(frozen=True, slots=True)
class RowFilter:
    """The inspector's filters: charger and action are case-insensitive substrings, direction exact."""

    charger: str = ""
    action: str = ""
    direction: str = ""

    def __call__(self, row: MessageRow) -> bool:
        return (
            self.charger.lower() in row.charger_id.lower()
            and self.action.lower() in row.action.lower()
            and (not self.direction or row.direction == self.direction)
        )


class MessageTable(DataTable[str | Text]):
    """Exchanges oldest first; the newest at the bottom, where the cursor follows unless paused."""

    DEFAULT_CSS = """
    MessageTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.shown: list[MessageRow] = []

    def on_mount(self) -> None:
        for label in ("Time", "Charger", "Dir", "Type", "Action", "Message id", "Frame"):
            self.add_column(label, key=label)

    def _add(self, row: MessageRow) -> None:
        arrow = Text("→ out", style="cyan") if row.direction == "out" else Text("← in", style="green")
        kind = Text(row.message_type, style="red" if row.message_type == "ERROR" else "")
        self.add_row(
            time.strftime("%H:%M:%S", time.localtime(row.time)),
            row.charger_id,
            arrow,
            kind,
            row.action,
            row.message_id,
            row.frame[:70],
        )
        self.shown.append(row)

    def show_rows(self, rows: Iterable[MessageRow]) -> None:
        self.clear()
        self.shown = []
        for row in rows:
            self._add(row)

    def append(self, rows: Iterable[MessageRow], *, follow: bool) -> None:
        for row in rows:
            self._add(row)
        if follow and self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def highlighted_row(self) -> MessageRow | None:
        if not self.shown or self.cursor_row >= len(self.shown):
            return None
        return self.shown[self.cursor_row]
