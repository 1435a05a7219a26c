"""The Voltyard console App: modes (one per main screen), global bindings, and the message plumbing.

The App owns the `ApiClient`, the `SiteState` and the two long-running workers (event stream, health
poll). Client messages land here, are folded into the state, and are re-published on `changes` for
whichever screens are mounted; a screen that was away redraws from the state when it resumes. No screen
logic lives here.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal

from voltyard_tui.client import ApiClient, ApiError, ApiUnreachableError, Backoff, follow_stream, poll_health
from voltyard_tui.messages import (
    ActiveSessionsLoaded,
    ChargersLoaded,
    EventsLoaded,
    HealthUpdated,
    StreamConnected,
    StreamEventReceived,
    StreamLost,
)
from voltyard_tui.models import Event
from voltyard_tui.palette import VoltyardCommands
from voltyard_tui.screens.alerts import AlertsScreen
from voltyard_tui.screens.cabinet import CabinetScreen
from voltyard_tui.screens.chargers import ChargersScreen
from voltyard_tui.screens.crafter import CrafterScreen
from voltyard_tui.screens.dashboard import DashboardScreen
from voltyard_tui.screens.forms import FormField, FormModal
from voltyard_tui.screens.inspector import InspectorScreen
from voltyard_tui.screens.log import EventsScreen
from voltyard_tui.screens.registrations import RegistrationsScreen
from voltyard_tui.screens.tags import TagsScreen
from voltyard_tui.screens.transactions import TransactionsScreen
from voltyard_tui.state import ALERT_KINDS, EVENT_BACKLOG, Change, SiteState

__all__ = ["DEFAULT_API_URL", "VoltyardApp", "default_operator"]

DEFAULT_API_URL = "http://127.0.0.1:8180"
MESSAGE_KINDS = ("MessageIn", "MessageOut")


def default_operator() -> str:
    """The login name: who the appliance's audit records as having done what, unless --operator says."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "operator"


class VoltyardApp(App[None]):
    """The operator console for one appliance's control API."""

    TITLE = "Voltyard"
    CSS_PATH = "app.tcss"
    MODES: ClassVar[dict[str, type]] = {  # type: ignore[assignment]
        "dashboard": DashboardScreen,
        "chargers": ChargersScreen,
        "cabinet": CabinetScreen,
        "inspector": InspectorScreen,
        "crafter": CrafterScreen,
        "events": EventsScreen,
        "alerts": AlertsScreen,
        "tags": TagsScreen,
        "registrations": RegistrationsScreen,
        "history": TransactionsScreen,
    }
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "toggle_keys", "Keys"),
        Binding("d", "switch_mode('dashboard')", "Dashboard"),
        Binding("c", "switch_mode('chargers')", "Chargers"),
        Binding("h", "switch_mode('history')", "History"),
        Binding("k", "switch_mode('alerts')", "Alerts"),
        Binding("g", "switch_mode('tags')", "Tags"),
        Binding("n", "switch_mode('registrations')", "Pending"),
        Binding("l", "site_limit", "Limit"),
        Binding("e", "switch_mode('events')", "Events"),
        Binding("b", "switch_mode('cabinet')", "Cabinet"),
        Binding("i", "switch_mode('inspector')", "Inspector"),
        Binding("x", "switch_mode('crafter')", "Crafter"),
        Binding("q", "quit", "Quit"),
    ]
    COMMANDS: ClassVar = App.COMMANDS | {VoltyardCommands}

    def __init__(
        self,
        client: ApiClient,
        *,
        read_only: bool = False,
        poll_interval: float = 2.0,
        backoff: Backoff | None = None,
        export_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
        operator: str | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.operator = operator or default_operator()
        """The name the appliance's audit records for what this console changes."""
        self.read_only = read_only
        self.poll_interval = poll_interval
        self.backoff = backoff or Backoff()
        self.export_dir = export_dir or Path.cwd()
        self.clock = clock
        self.state = SiteState()
        self.changes: Signal[Change] = Signal(self, "changes")
        self.messages: Signal[Event] = Signal(self, "messages")
        self.connected = False
        self.frames_live = False
        """The inspector's per-frame stream is open."""
        self._ever_connected = False
        self._watching_messages = False

    # -- lifecycle --

    def on_mount(self) -> None:
        self.sub_title = self._where("connecting…")
        self.run_worker(
            follow_stream(
                self.client,
                self.post_message,
                name="events",
                on_connect=self._load_snapshot,
                backoff=self.backoff,
            ),
            name="events-stream",
            group="streams",
        )
        self.run_worker(
            poll_health(self.client, self.post_message, interval=self.poll_interval),
            name="health-poll",
            group="polls",
        )

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        await self.client.close()

    def watch_messages(self) -> None:
        """Open the per-frame stream for the inspector, once: the appliance builds those events only while
        someone listens, so it is not opened before the inspector is first shown."""
        if self._watching_messages:
            return
        self._watching_messages = True
        self.run_worker(
            follow_stream(
                self.client, self.post_message, name="messages", kinds=MESSAGE_KINDS, backoff=self.backoff
            ),
            name="messages-stream",
            group="streams",
        )

    async def _load_snapshot(self) -> None:
        chargers = await self.client.all_chargers()
        self.post_message(ChargersLoaded(tuple(chargers)))
        sessions = await self.client.transactions(active=True, limit=1000)
        self.post_message(ActiveSessionsLoaded(tuple(sessions)))
        self.post_message(HealthUpdated(await self.client.health(), await self.client.site()))
        await self.load_events()

    async def load_events(self) -> None:
        """Fetch the newest part of the event log (`?latest=N`): recent history, then the stream follows."""
        events, _ = await self.client.latest_events(EVENT_BACKLOG)
        # The newest alerts and operator actions too, however much else happened since: never only chatter.
        rare, _ = await self.client.latest_events(EVENT_BACKLOG, category=("alert", "operator"))
        seen = {e.seq for e in events}
        events += [e for e in rare if e.seq not in seen]
        self.post_message(EventsLoaded(tuple(events)))

    @work(group="charger-fetch")
    async def _fetch_charger(self, charger_id: str) -> None:
        """A charger first heard of on the stream: its full record (security profile, availability)."""
        try:
            detail = await self.client.charger(charger_id)
        except (ApiError, ApiUnreachableError):
            return  # the next snapshot (reconnect) fills it in
        self.state.merge_charger(detail.charger)
        self.changes.publish(Change("event", charger_id, None))

    def action_site_limit(self) -> None:
        """Change the site limit: the current one shown, the new one confirmed, sent with the operator."""
        current = self.state.limit_kw
        client = self.client
        operator = self.operator

        def parse(values: dict[str, str]) -> float:
            text = values.get("limit_kw", "").replace(",", ".")
            try:
                limit = float(text)
            except ValueError:
                raise ValueError(f"limit_kw: {text!r} is not a number of kW") from None
            if not 0 <= limit <= 1_000_000:
                raise ValueError(f"limit_kw: {limit:g} is outside 0-1 000 000 kW")
            return limit

        async def submit(values: dict[str, str]) -> str:
            site = await client.set_site_limit(parse(values), operator)
            return f"Site limit {site.limit_kw:g} kW (set by {operator})"

        def confirm(values: dict[str, str]) -> str | None:
            try:
                limit = parse(values)
            except ValueError:
                return None  # submit says what is wrong, nothing is sent
            was = f"{current:g} kW" if current is not None else "unknown"
            return f"Change the site limit from {was} to {limit:g} kW, as {operator}?"

        def done(message: str | None) -> None:
            if message:
                self.notify(message, title="Site limit")
                self.run_worker(self._refresh_site(), group="site")

        fields = [FormField("limit_kw", "New site limit (kW)", f"{current:g}" if current is not None else "")]
        note = (
            f"Now {current:g} kW, drawing {self.state.power_kw:.1f} kW."
            if current is not None
            else "The current limit is not known yet."
        )
        self.push_screen(FormModal("Site limit", fields, submit, note=note, confirm=confirm), done)

    def action_toggle_keys(self) -> None:
        """Every key of the screen in front, with what it does (the footer shows what fits)."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    async def _refresh_site(self) -> None:
        try:
            self.post_message(HealthUpdated(await self.client.health(), await self.client.site()))
        except (ApiError, ApiUnreachableError):
            return

    def _where(self, status: str) -> str:
        role = " · read-only" if self.read_only else ""
        return f"{self.client.base_url} · {status}{role}"

    # -- messages from the client workers --

    def on_stream_connected(self, message: StreamConnected) -> None:
        if message.stream == "messages":
            self.frames_live = True
            self.changes.publish(Change("connection"))
            return
        if self._ever_connected and not self.connected:
            self.notify("Reconnected to the control API.", title="Connection")
        self._ever_connected = True
        self.connected = True
        self.sub_title = self._where("live")
        self.changes.publish(Change("connection"))

    def on_stream_lost(self, message: StreamLost) -> None:
        if message.stream == "messages":
            self.frames_live = False
            return
        if self.connected:
            self.notify(
                f"Lost the control API: {message.reason}. Reconnecting…",
                title="Connection",
                severity="error",
            )
        self.connected = False
        self.sub_title = self._where(
            f"API unreachable ({message.reason}), reconnecting in {message.retry_in:.1f} s"
            f" (attempt {message.attempt})"
        )
        self.changes.publish(Change("connection"))

    def on_stream_event_received(self, message: StreamEventReceived) -> None:
        event = message.event
        if message.stream == "messages":
            self.messages.publish(event)
            return
        known = event.charger_id in self.state.chargers
        changed = self.state.apply(event)
        if changed is not None and not known:
            self._fetch_charger(changed)
        if event.kind in ALERT_KINDS or (event.category == "alert" and event.kind != "AlertAcknowledged"):
            what = event.data.get("kind") or event.kind
            self.notify(f"{event.charger_id or 'site'}: {what}", title=event.kind, severity="warning")
        self.changes.publish(Change("event", changed, event))

    def on_chargers_loaded(self, message: ChargersLoaded) -> None:
        self.state.load_chargers(message.chargers)
        self.changes.publish(Change("chargers"))

    def on_events_loaded(self, message: EventsLoaded) -> None:
        self.state.load_events(message.events)
        self.changes.publish(Change("events"))

    def on_health_updated(self, message: HealthUpdated) -> None:
        self.state.update_health(message.health, message.site)
        self.changes.publish(Change("health"))

    def on_active_sessions_loaded(self, message: ActiveSessionsLoaded) -> None:
        self.state.active_sessions = message.transactions
        self.changes.publish(Change("sessions"))
