"""The message inspector: the logged and live OCPP frames, filtered by charger, action and direction.

History comes from GET /messages with the filters applied by the appliance; live frames come from the
MessageIn/MessageOut stream (which the app opens only once this screen has been visited, as the appliance
builds those events only while someone listens) and are filtered here. Pausing holds new frames aside
without losing them; export writes the appliance's JSON or CSV export of the current filters to a file.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from voltyard_tui.actions import ALL_ACTIONS
from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import Event
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.widgets.message_table import MessageRow, MessageTable, RowFilter

__all__ = ["InspectorScreen"]

HISTORY = 200
MAX_ROWS = 2000


def _pretty(frame: str) -> str:
    try:
        return json.dumps(json.loads(frame), indent=None, ensure_ascii=False)
    except ValueError:
        return frame


def unique_path(directory: Path, name: str) -> Path:
    """`directory/name`, or `name-1`, `name-2`… so an export never overwrites an earlier one."""
    path = directory / name
    stem, suffix = path.stem, path.suffix
    n = 0
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}{suffix}"
    return path


class InspectorScreen(ConsoleScreen):
    """Every OCPP frame, as it flows."""

    AUTO_FOCUS = "MessageTable"

    DEFAULT_CSS = """
    InspectorScreen #inspector-filters { height: 3; padding: 0 1; }
    InspectorScreen #inspector-filters Input { width: 1fr; }
    InspectorScreen #filter-direction { width: 18; }
    InspectorScreen #inspector-status { height: 1; padding: 0 1; color: $text-muted; }
    InspectorScreen #frame-detail {
        height: 8;
        border: round $panel-lighten-2;
        border-title-color: $text-accent;
        padding: 0 1;
        overflow-y: auto;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("r", "reload", "Reload"),
        # Export takes the filters the API understands (whole charger id, whole action, direction).
        Binding("j", "export('json')", "Export JSON"),
        Binding("v", "export('csv')", "Export CSV"),
        Binding("slash", "focus_filters", "Filter"),
        Binding("escape", "focus_table", "Table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.rows: deque[MessageRow] = deque(maxlen=MAX_ROWS)
        self.held: deque[MessageRow] = deque(maxlen=MAX_ROWS)
        self.row_filter = RowFilter()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="inspector-filters"):
            yield Input(placeholder="charger", id="filter-charger")
            yield Input(placeholder="action", id="filter-action")
            yield Select(
                [("in (from chargers)", "in"), ("out (to chargers)", "out")],
                prompt="both ways",
                id="filter-direction",
            )
        yield Static("", id="inspector-status")
        yield MessageTable(id="exchanges")
        yield Static("", id="frame-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#frame-detail", Static).border_title = "Frame"
        self.console.messages.subscribe(self, self.on_frame)
        self.console.watch_messages()
        self.action_reload()

    # -- data --

    def action_reload(self) -> None:
        self._load()

    def _server_filters(self) -> dict[str, str | None]:
        """The API filters by exact charger id and action; ours are substrings. Narrow the query on the
        server only when the text is a whole known name, and filter the rest here."""
        wanted = self.row_filter
        return {
            "charger_id": wanted.charger if wanted.charger in self.console.state.chargers else None,
            "action": wanted.action if wanted.action in ALL_ACTIONS else None,
            "direction": wanted.direction or None,
        }

    @work(exclusive=True, group="history")
    @while_attached
    async def _load(self) -> None:
        wanted = self.row_filter
        try:
            exchanges = await self.console.client.messages(**self._server_filters(), limit=HISTORY)
        except (ApiError, ApiUnreachableError) as exc:
            self._status(Text(f"Could not load the message log: {exc}", style="red"))
            return
        # The API returns newest first.
        history = [MessageRow.from_exchange(e) for e in reversed(exchanges)]
        self.rows = deque((row for row in history if wanted(row)), maxlen=MAX_ROWS)
        self.redraw()

    def on_frame(self, event: Event) -> None:
        row = MessageRow.from_event(event)
        if self.paused:
            self.held.append(row)
            self._status()
            return
        self.rows.append(row)
        if self.row_filter(row):
            self.query_one(MessageTable).append([row], follow=True)
        self._status()

    def redraw(self) -> None:
        table = self.query_one(MessageTable)
        table.show_rows(row for row in self.rows if self.row_filter(row))
        if table.row_count and not self.paused:
            table.move_cursor(row=table.row_count - 1)
        self._status()

    def _status(self, message: Text | None = None) -> None:
        if message is None:
            shown = self.query_one(MessageTable).row_count
            message = Text(f"{shown} frames shown")
            if self.paused:
                message.append(f" · PAUSED, {len(self.held)} new held", style="bold yellow")
            else:
                message.append(" · live", style="green")
        self.query_one("#inspector-status", Static).update(message)

    # -- filters, pause, export --

    def _filters_changed(self) -> None:
        direction = self.query_one("#filter-direction", Select)
        self.row_filter = RowFilter(
            self.query_one("#filter-charger", Input).value.strip(),
            self.query_one("#filter-action", Input).value.strip(),
            "" if direction.is_blank() else str(direction.value),
        )
        self.action_reload()

    def set_filter(self, *, charger: str = "", action: str = "", direction: str | None = None) -> None:
        self.query_one("#filter-charger", Input).value = charger
        self.query_one("#filter-action", Input).value = action
        select: Select[str] = self.query_one("#filter-direction", Select)
        if direction:
            select.value = direction
        else:
            select.clear()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._filters_changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._filters_changed()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            released = list(self.held)
            self.held.clear()
            self.rows.extend(released)
            self.query_one(MessageTable).append((r for r in released if self.row_filter(r)), follow=True)
        self._status()

    def action_export(self, fmt: str) -> None:
        self._export(fmt)

    @work(exclusive=True, group="export")
    @while_attached
    async def _export(self, fmt: str) -> None:
        try:
            export = await self.console.client.export_messages(fmt, **self._server_filters())
        except (ApiError, ApiUnreachableError) as exc:
            self.notify(f"Export failed: {exc}", severity="error")
            return
        path = unique_path(self.console.export_dir, export.filename)
        path.write_bytes(export.content)
        self.notify(f"Exported {len(export.content)} bytes to {path}", title="Export")

    def action_focus_filters(self) -> None:
        self.query_one("#filter-charger", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(MessageTable).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.query_one(MessageTable).highlighted_row()
        detail = self.query_one("#frame-detail", Static)
        if row is None:
            detail.update("")
            return
        text = Text()
        text.append(
            f"{row.charger_id} {row.direction} {row.message_type} {row.action} {row.message_id}\n",
            style="bold",
        )
        text.append(_pretty(row.frame))
        if row.reply:
            text.append("\nreply: ", style="bold")
            text.append(_pretty(row.reply))
        detail.update(text)
