"""Pending registrations: chargers that booted and wait for an operator to accept or reject them."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import Charger, format_time
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.screens.forms import ConfirmModal, describe_error
from voltyard_tui.state import Change

__all__ = ["RegistrationsScreen"]

_RELOAD_ON = frozenset({"ChargerBooted", "ChargerRegistered", "RegistrationChanged", "ChargerConnected"})


class RegistrationsScreen(ConsoleScreen):
    """GET /chargers?registration=Pending; `a` accepts, `j` rejects (after confirmation)."""

    AUTO_FOCUS = "#pending"
    DEFAULT_CSS = """
    RegistrationsScreen #pending { height: 1fr; }
    RegistrationsScreen #pending-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "decide('Accepted')", "Accept"),
        Binding("j", "decide('Rejected')", "Reject"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[str, Charger] = {}
        self._deciding: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="pending-status")
        yield DataTable[str](id="pending", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#pending", DataTable)
        for label in ("Charger", "Vendor", "Model", "Firmware", "Connected", "Last seen"):
            table.add_column(label, key=label)
        super().on_mount()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def on_change(self, change: Change) -> None:
        event = change.event
        if event is not None and event.kind in _RELOAD_ON:
            self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="registrations")
    @while_attached
    async def _load(self) -> None:
        try:
            pending, _ = await self.console.client.chargers(registration="Pending")
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        # An older appliance ignores the filter: keep only what is really pending.
        self.pending = {c.id: c for c in pending if c.registration == "Pending"}
        table = self.query_one("#pending", DataTable)
        table.clear()
        for charger in self.pending.values():
            table.add_row(
                charger.id,
                charger.vendor,
                charger.model,
                charger.firmware_version,
                "yes" if charger.connected else "no",
                format_time(charger.last_seen),
                key=charger.id,
            )
        self._say(
            f"{len(self.pending)} chargers waiting for registration · operator {self.console.operator}"
            if self.pending
            else "No charger is waiting for registration."
        )

    def _say(self, text: Text | str) -> None:
        self.query_one("#pending-status", Static).update(text)

    def selected(self) -> str | None:
        table = self.query_one("#pending", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key if isinstance(key, str) else None

    def action_decide(self, registration: str) -> None:
        charger_id = self.selected()
        if charger_id is None or charger_id in self._deciding:
            return  # nothing chosen, or a decision on it is already on its way
        self._deciding.add(charger_id)
        if registration == "Accepted":
            self._set(charger_id, registration)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._set(charger_id, registration)
            else:
                self._deciding.discard(charger_id)

        question = f"Reject {charger_id}? It will be refused at its next BootNotification."
        self.app.push_screen(ConfirmModal(question, title="Reject registration"), answered)

    @work(group="registration-write")
    @while_attached
    async def _set(self, charger_id: str, registration: str) -> None:
        try:
            await self.console.client.set_registration(charger_id, registration, self.console.operator)
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        finally:
            self._deciding.discard(charger_id)
        self.notify(f"{charger_id}: {registration}", title="Registration")
        self.action_reload()
