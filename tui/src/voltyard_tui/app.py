"""The Voltyard console App: modes (one per main screen), global bindings, and the message plumbing.

The App owns the `ApiClient`, the `SiteState` and the two long-running workers (event stream, health
poll). Client messages land here, are folded into the state, and are re-published on `changes` for
whichever screens are mounted; a screen that was away redraws from the state when it resumes. No screen
logic lives here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal

from voltyard_tui.client import ApiClient, Backoff, follow_stream, poll_health
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
from voltyard_tui.screens.cabinet import CabinetScreen
from voltyard_tui.screens.chargers import ChargersScreen
from voltyard_tui.screens.crafter import CrafterScreen
from voltyard_tui.screens.dashboard import DashboardScreen
from voltyard_tui.screens.inspector import InspectorScreen
from voltyard_tui.screens.log import EventsScreen
from voltyard_tui.state import ALERT_KINDS, EVENT_BACKLOG, Change, SiteState

__all__ = ["DEFAULT_API_URL", "VoltyardApp"]

DEFAULT_API_URL = "http://127.0.0.1:8180"
MESSAGE_KINDS = ("MessageIn", "MessageOut")
EVENT_PAGES = 20


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
    }
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "switch_mode('dashboard')", "Dashboard"),
        Binding("c", "switch_mode('chargers')", "Chargers"),
        Binding("b", "switch_mode('cabinet')", "Cabinet"),
        Binding("i", "switch_mode('inspector')", "Inspector"),
        Binding("x", "switch_mode('crafter')", "Crafter"),
        Binding("e", "switch_mode('events')", "Events"),
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
    ) -> None:
        super().__init__()
        self.client = client
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
        """Fetch the tail of the event log (read forward from a cursor, so a long log is paged)."""
        events: list[Event] = []
        after = 0
        for _ in range(EVENT_PAGES):
            page, after = await self.client.events(after=after, limit=500)
            events = (events + page)[-EVENT_BACKLOG:]
            if not page:
                break
        self.post_message(EventsLoaded(tuple(events)))

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
        changed = self.state.apply(event)
        if event.kind in ALERT_KINDS:
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
