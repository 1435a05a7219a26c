"""One charger: its connectors, sessions, configuration and recent messages, and every command it takes."""

from __future__ import annotations

import secrets
import time
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import Charger, ChargerDetail, Exchange, format_time
from voltyard_tui.screens.action_picker import ActionPicker
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.screens.command_modal import CommandModal
from voltyard_tui.screens.crafter import CrafterScreen
from voltyard_tui.screens.forms import ConfirmModal, FormField, FormModal, describe_error
from voltyard_tui.state import Change
from voltyard_tui.widgets.charger_table import STATE_STYLES, STATUS_STYLES
from voltyard_tui.widgets.uplink import point_text

__all__ = ["ChargerDetailScreen"]

RECENT_MESSAGES = 30
_RELOAD_ON = frozenset(
    {"TransactionStarted", "TransactionStopped", "ChargerBooted", "CommandAnswered", "SecurityProfileChanged"}
)
ROTATED_KEY_BYTES = 20
"""A new AuthorizationKey: 20 random bytes, sent as 40 hex characters (the whitepaper allows 16-40 bytes)."""


def _when(stamp: float | None) -> str:
    return format_time(stamp)


class ChargerDetailScreen(ConsoleScreen):
    """Everything about one charger; `a` sends it a command."""

    DEFAULT_CSS = """
    ChargerDetailScreen #summary { height: auto; padding: 0 1; border: round $panel-lighten-2; }
    ChargerDetailScreen #connectors { height: auto; max-height: 8; }
    ChargerDetailScreen TabbedContent { height: 1fr; }
    ChargerDetailScreen #detail-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "command", "Command…"),
        Binding("s", "command('RemoteStartTransaction')", "Remote start"),
        Binding("t", "command('RemoteStopTransaction')", "Remote stop"),
        Binding("w", "craft", "Raw frame"),
        Binding("p", "security", "Security profile"),
        Binding("y", "rotate_key", "Rotate key"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, charger_id: str) -> None:
        super().__init__()
        self.charger_id = charger_id
        self.detail: ChargerDetail | None = None
        self.rotating = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(self.charger_id, style="bold"), id="summary")
        yield DataTable[str | Text](id="connectors", cursor_type="row")
        with TabbedContent(id="tabs"):
            with TabPane("Sessions", id="tab-sessions"):
                yield DataTable[str](id="sessions", cursor_type="row", zebra_stripes=True)
            with TabPane("Configuration", id="tab-configuration"):
                yield DataTable[str](id="configuration", cursor_type="row", zebra_stripes=True)
            with TabPane("Messages", id="tab-messages"):
                yield DataTable[str | Text](id="messages", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.charger_id
        columns = {
            "connectors": ("Connector", "Status", "Error", "Availability", "Info"),
            "sessions": ("Tx", "Connector", "Id tag", "Started", "Meter start (Wh)", "State"),
            "configuration": ("Key", "Value", "Read-only"),
            "messages": ("Time", "Dir", "Action", "Message id", "Frame", "Reply"),
        }
        for table_id, labels in columns.items():
            table = self.query_one(f"#{table_id}", DataTable)
            for label in labels:
                table.add_column(label, key=label)
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="detail")
    @while_attached
    async def _load(self) -> None:
        client = self.console.client
        status = self.query_one("#detail-status", Static)
        try:
            self.detail = await client.charger(self.charger_id)
            messages = await client.messages(charger_id=self.charger_id, limit=RECENT_MESSAGES)
        except (ApiError, ApiUnreachableError) as exc:
            status.update(Text(f"Could not load {self.charger_id}: {exc}", style="red"))
            return
        status.update(f"Loaded {time.strftime('%H:%M:%S', time.localtime(self.console.clock()))}")
        # The detail is the fullest record: the live state gets what it lacked (profile, availability).
        charger = self.console.state.merge_charger(self.detail.charger)
        self._draw_summary(charger)
        self._draw_connectors(charger)
        self._draw_sessions(self.detail)
        self._draw_configuration(self.detail)
        self._draw_messages(messages)

    def redraw(self) -> None:
        charger = self.console.state.chargers.get(self.charger_id)
        if charger is not None and self.detail is not None:
            # Merge, never replace: a live update says less than the detail did.
            charger = self.detail.charger.merged(charger)
            self._draw_summary(charger)
            self._draw_connectors(charger)

    def on_change(self, change: Change) -> None:
        # /health carries this charge point's uplink: each poll may change its line of the summary.
        if change.charger_id == self.charger_id or change.what == "health":
            self.redraw()
        event = change.event
        if event is not None and event.charger_id == self.charger_id and event.kind in _RELOAD_ON:
            self.action_reload()

    def _draw_summary(self, charger: Charger) -> None:
        detail = self.detail
        text = Text()
        text.append(charger.id, style="bold")
        text.append(f"  {charger.state}", style=STATE_STYLES[charger.state])
        text.append(f"  {charger.vendor} {charger.model}  firmware {charger.firmware_version or '–'}\n")
        text.append(
            f"registration {charger.registration or '–'} · security profile "
            f"{'–' if charger.security_profile is None else charger.security_profile}"
        )
        text.append(
            f" · {'connected' if charger.connected else 'not connected'}"
            f" · last seen {_when(charger.last_seen)}"
        )
        if detail is not None and detail.local_list_version is not None:
            text.append(f" · local list v{detail.local_list_version}")
        health = self.console.state.health
        point = health.uplink.charge_points.get(charger.id) if health is not None else None
        if point is not None:  # a charge point the appliance relays to the operator's central system
            text.append("\n")
            text.append(point_text(point, self.console.clock()))
        self.query_one("#summary", Static).update(text)

    def _draw_connectors(self, charger: Charger) -> None:
        table = self.query_one("#connectors", DataTable)
        table.clear()
        for c in charger.connectors:
            table.add_row(
                str(c.connector_id),
                Text(c.status, style=STATUS_STYLES.get(c.status, "")),
                c.error_code,
                c.availability,
                c.info,
                key=str(c.connector_id),
            )

    def _draw_sessions(self, detail: ChargerDetail) -> None:
        table = self.query_one("#sessions", DataTable)
        table.clear()
        for tx in detail.active_transactions:
            table.add_row(
                str(tx.id),
                str(tx.connector_id),
                tx.id_tag,
                _when(tx.start_time),
                str(tx.meter_start),
                "active",
            )

    def _draw_configuration(self, detail: ChargerDetail) -> None:
        table = self.query_one("#configuration", DataTable)
        table.clear()
        for entry in detail.configuration:
            table.add_row(entry.key, entry.value or "", "yes" if entry.readonly else "")

    def _draw_messages(self, messages: list[Exchange]) -> None:
        table = self.query_one("#messages", DataTable)
        table.clear()
        for m in messages:
            arrow = Text("→", style="cyan") if m.direction == "out" else Text("←", style="green")
            table.add_row(
                time.strftime("%H:%M:%S", time.localtime(m.time)),
                arrow,
                m.action,
                m.message_id,
                m.frame[:60],
                (m.reply or "")[:40],
            )

    def action_command(self, action: str | None = None) -> None:
        if self.console.read_only:
            self.notify("This console uses a read-only token: commands are refused.", severity="warning")
        if action is not None:
            self.app.push_screen(CommandModal(self.charger_id, action))
            return

        def chosen(name: str | None) -> None:
            if name is not None:
                self.app.push_screen(CommandModal(self.charger_id, name))

        self.app.push_screen(ActionPicker(), chosen)

    def action_security(self) -> None:
        """PUT /chargers/{id}/security: profile 0-3, with the Basic-auth password for profiles 1 and 2."""
        client = self.console.client
        charger_id = self.charger_id
        current = self.console.state.chargers.get(charger_id)
        profile_now = current.security_profile if current is not None else None

        async def submit(values: dict[str, str]) -> str:
            profile = int(values["profile"])
            password = values.get("password") or None
            if profile in (1, 2) and password is not None and len(password) < 16:
                raise ValueError("password: at least 16 characters (an AuthorizationKey is 16-40 bytes)")
            await client.set_security(charger_id, profile, password, self.console.operator)
            return f"{charger_id}: security profile {profile}"

        def confirm(values: dict[str, str]) -> str | None:
            profile = values.get("profile")
            if profile == str(profile_now):
                return None
            return (
                f"Set {charger_id} to security profile {profile}? A charger not configured for it is "
                "refused at its next connection."
            )

        def done(message: str | None) -> None:
            if message:
                self.notify(message, title="Security")
                self.action_reload()

        fields = [
            FormField("profile", "Security profile", str(profile_now or 0), choices=("0", "1", "2", "3")),
            FormField(
                "password",
                "Password for profiles 1 and 2 (the AuthorizationKey; empty keeps the current one)",
                password=True,
            ),
        ]
        note = "0: none · 1: Basic auth over ws · 2: Basic auth over TLS · 3: TLS client certificate"
        self.app.push_screen(
            FormModal(f"Security profile of {charger_id}", fields, submit, note=note, confirm=confirm), done
        )

    def action_rotate_key(self) -> None:
        """A random AuthorizationKey sent with ChangeConfiguration; adopted once the charger accepts."""
        if self.rotating:
            return
        self.rotating = True

        def answered(yes: bool | None) -> None:
            if yes:
                self._rotate(secrets.token_hex(ROTATED_KEY_BYTES))
            else:
                self.rotating = False

        question = (
            f"Rotate the AuthorizationKey of {self.charger_id}? A new random key is sent with "
            "ChangeConfiguration; the old one stops working once the charger accepts."
        )
        self.app.push_screen(ConfirmModal(question, title="Rotate key"), answered)

    @work(group="rotate")
    @while_attached
    async def _rotate(self, key: str) -> None:
        status = self.query_one("#detail-status", Static)
        try:
            answer = await self.console.client.command(
                self.charger_id, "ChangeConfiguration", {"key": "AuthorizationKey", "value": key}
            )
        except (ApiError, ApiUnreachableError) as exc:
            status.update(describe_error(exc))
            return
        finally:
            self.rotating = False
        status.update(f"Key rotation: {self.charger_id} answered {answer.get('status', answer)}")
        self.notify(f"{self.charger_id} answered {answer.get('status', answer)}", title="Rotate key")

    async def action_craft(self) -> None:
        await self.app.switch_mode("crafter")
        screen = self.app.screen
        if isinstance(screen, CrafterScreen):
            screen.prefill(self.charger_id)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
