"""Transaction history: energy, duration and stop reason; live energy for the open ones; force-close."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import Transaction, format_time
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.screens.forms import FormField, FormModal, describe_error
from voltyard_tui.state import Change

__all__ = ["HISTORY_LIMIT", "TransactionsScreen", "duration_text", "energy_text"]

HISTORY_LIMIT = 500
_RELOAD_ON = frozenset(
    {
        "TransactionStarted",
        "TransactionStopped",
        "TransactionForceClosed",
        "TransactionReconciled",
        "MeterValues",
    }
)


def energy_text(wh: int | None) -> str:
    return "–" if wh is None else f"{wh / 1000:.2f}"


def duration_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "–"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


class TransactionsScreen(ConsoleScreen):
    """GET /transactions, newest first; `o` open ones only, `f` force-closes the highlighted one."""

    AUTO_FOCUS = "#history"
    DEFAULT_CSS = """
    TransactionsScreen #history { height: 1fr; }
    TransactionsScreen #history-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "toggle_open", "Open only"),
        Binding("f", "force_close", "Force-close"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.transactions: dict[int, Transaction] = {}
        self.open_only = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="history-status")
        yield DataTable[str | Text](id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#history", DataTable)
        for label in (
            "Tx",
            "Charger",
            "Conn",
            "Id tag",
            "Started",
            "Stopped",
            "Duration",
            "kWh",
            "Stop reason",
        ):
            table.add_column(label, key=label)
        super().on_mount()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def on_change(self, change: Change) -> None:
        if change.what == "health":
            # The appliance publishes no event per meter reading: while open sessions are shown, their
            # energy is read again with each health poll (every 2 s), so it moves without a key press.
            if self.is_current and any(t.active for t in self.transactions.values()):
                self.action_reload()
            return
        event = change.event
        if event is None or event.kind not in _RELOAD_ON:
            return
        if event.kind == "MeterValues" and not any(
            t.active and t.charger_id == event.charger_id for t in self.transactions.values()
        ):
            return  # a reading of no open session shown here
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="history")
    @while_attached
    async def _load(self) -> None:
        try:
            items = await self.console.client.transactions(
                active=True if self.open_only else None, limit=HISTORY_LIMIT
            )
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        self.transactions = {t.id: t for t in items}
        self._draw()

    def _duration(self, tx: Transaction) -> float | None:
        if tx.duration_s is not None:
            return tx.duration_s
        if tx.start_time is None:
            return None
        end = tx.stop_time if not tx.active else self.console.clock()
        return None if end is None else end - tx.start_time

    def _draw(self) -> None:
        table = self.query_one("#history", DataTable)
        selected = self.selected()
        table.clear()
        active = 0
        for tx in sorted(self.transactions.values(), key=lambda t: t.id, reverse=True):
            active += tx.active
            stopped = Text("charging", style="bold cyan") if tx.active else Text(format_time(tx.stop_time))
            energy = Text(energy_text(tx.energy_wh), style="cyan" if tx.active else "")
            table.add_row(
                str(tx.id),
                tx.charger_id,
                str(tx.connector_id),
                tx.id_tag,
                format_time(tx.start_time),
                stopped,
                duration_text(self._duration(tx)),
                energy,
                tx.stop_reason or "",
                key=str(tx.id),
            )
        if selected is not None and selected in self.transactions:
            table.move_cursor(row=table.get_row_index(str(selected)))
        scope = "open transactions" if self.open_only else "transactions"
        self._say(
            f"{len(self.transactions)} {scope} · {active} charging · energy in kWh (live while charging)"
        )

    def _say(self, text: Text | str) -> None:
        self.query_one("#history-status", Static).update(text)

    def selected(self) -> int | None:
        table = self.query_one("#history", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if isinstance(key, str) and key.isdigit() else None

    def action_toggle_open(self) -> None:
        self.open_only = not self.open_only
        self.action_reload()

    def action_force_close(self) -> None:
        tx = self.transactions.get(self.selected() or -1)
        if tx is None:
            return
        if not tx.active:
            self.notify(f"Transaction {tx.id} is already closed.", title="Force-close")
            return
        client = self.console.client
        operator = self.console.operator
        guess = (tx.meter_start or 0) + (tx.energy_wh or 0)

        async def submit(values: dict[str, str]) -> str:
            text = values.get("meter_stop", "")
            if not text.isdigit():
                raise ValueError(f"meter_stop: expected a whole number of Wh, got {text!r}")
            closed = await client.force_close(tx.id, int(text), operator)
            return f"Transaction {closed.id} closed by {operator} ({energy_text(closed.energy_wh)} kWh)"

        def confirm(values: dict[str, str]) -> str:
            return (
                f"Force-close transaction {tx.id} on {tx.charger_id} connector {tx.connector_id} "
                f"with meter_stop {values.get('meter_stop')} Wh, as {operator}?"
            )

        def done(message: str | None) -> None:
            if message:
                self.notify(message, title="Force-close")
                self.action_reload()

        fields = [FormField("meter_stop", "meter_stop (Wh, the meter's register when it ended)", str(guess))]
        note = (
            f"Transaction {tx.id} on {tx.charger_id}, id tag {tx.id_tag}, meter_start {tx.meter_start} Wh. "
            "Close it only when the charger will never send its StopTransaction."
        )
        self.app.push_screen(
            FormModal(f"Force-close transaction {tx.id}", fields, submit, note=note, confirm=confirm), done
        )
