"""The chargers table: one row per charger, updated in place as events arrive, filtered as you type."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.widgets import DataTable

from voltyard_tui.models import Charger

__all__ = ["ChargerTable", "matches"]

COLUMNS = (("id", "Charger"), ("state", "State"), ("connectors", "Connectors"), ("vendor", "Vendor"),
           ("model", "Model"), ("firmware", "Firmware"), ("seen", "Last seen"))  # fmt: skip

STATE_STYLES = {"online": "green", "offline": "grey58", "faulted": "bold red"}
STATUS_STYLES = {
    "Available": "green",
    "Preparing": "cyan",
    "Charging": "bold cyan",
    "SuspendedEV": "yellow",
    "SuspendedEVSE": "yellow",
    "Finishing": "cyan",
    "Reserved": "magenta",
    "Unavailable": "grey58",
    "Faulted": "bold red",
}


def matches(charger: Charger, needle: str) -> bool:
    """Every word of `needle` appears (case-insensitively) in the id, vendor, model, state or a status."""
    haystack = " ".join(
        [charger.id, charger.vendor, charger.model, charger.state, *(c.status for c in charger.connectors)]
    ).lower()
    return all(word in haystack for word in needle.lower().split())


def _connectors(charger: Charger) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for connector in charger.connectors:
        if connector.connector_id == 0 and connector.status != "Faulted":
            continue  # connector 0 only matters when the whole charger is faulted
        if text:
            text.append(" ")
        text.append(f"{connector.connector_id}:", style="grey58")
        text.append(connector.status, style=STATUS_STYLES.get(connector.status, ""))
    return text


def _ago(last_seen: float | None, now: float) -> str:
    if last_seen is None:
        return "never"
    seconds = max(0, int(now - last_seen))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(last_seen))


class ChargerTable(DataTable[str | Text]):
    """A DataTable keyed by charger id that redraws one row per change."""

    DEFAULT_CSS = """
    ChargerTable { height: 1fr; }
    ChargerTable > .datatable--header { text-style: bold; }
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.clock = clock
        self.needle = ""
        self._chargers: dict[str, Charger] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def _cells(self, charger: Charger) -> list[str | Text]:
        return [
            Text(charger.id, style="bold"),
            Text(charger.state, style=STATE_STYLES[charger.state]),
            _connectors(charger),
            charger.vendor,
            charger.model,
            charger.firmware_version,
            _ago(charger.last_seen, self.clock()),
        ]

    def set_chargers(self, chargers: Iterable[Charger]) -> None:
        self._chargers = {charger.id: charger for charger in chargers}
        self._rebuild()

    def set_filter(self, needle: str) -> None:
        self.needle = needle
        self._rebuild()

    def _rebuild(self) -> None:
        selected = self.selected_id
        self.clear()
        for charger_id in sorted(self._chargers):
            charger = self._chargers[charger_id]
            if matches(charger, self.needle):
                self.add_row(*self._cells(charger), key=charger_id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def update_charger(self, charger: Charger) -> None:
        """Redraw the row of one charger (adding or hiding it if the filter now says so)."""
        self._chargers[charger.id] = charger
        shown = charger.id in self.rows
        wanted = matches(charger, self.needle)
        if shown and wanted:
            for (key, _), value in zip(COLUMNS, self._cells(charger), strict=True):
                self.update_cell(charger.id, key, value)
        elif wanted or shown:
            self._rebuild()  # keeps the sorted order

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def visible_ids(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]
