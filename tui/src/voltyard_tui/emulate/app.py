"""The emulator's console: the simulated chargers and their connectors, a live frame pane, the crafter.

It talks to the simulator only through its control socket (`ControlClient`), polling `chargers` for
the table and `frames` for the selected charger's pane, which shows the frames its filter
(`FrameFilter`, set with `/`, cleared with `x`) lets through. The keys are in the footer and in the command
palette (ctrl+p), as in the operator console; it shares that console's CSS and its message table.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Footer, Header, Input, Label, Static, TextArea

from voltyard_tui.emulate.client import ControlClient, ControlRefusedError, ControlUnreachableError
from voltyard_tui.emulate.faults import FaultScreen
from voltyard_tui.emulate.frames import KEEP, FilterScreen, FrameFilter
from voltyard_tui.widgets.message_table import MessageRow, MessageTable

__all__ = ["CrafterScreen", "EmulatorApp", "TagScreen", "frame_row"]

POLL_S = 0.5
DEFAULT_TAG = "EMU-TAG-1"
_TYPES = {"CALLRESULT": "RESULT", "CALLERROR": "ERROR", "CALLRESULTERROR": "ERROR"}
_STATUS_STYLE = {
    "Available": "green",
    "Preparing": "yellow",
    "Charging": "bold cyan",
    "Finishing": "yellow",
    "Faulted": "bold red",
    "Unavailable": "red",
}
# What a key does, for the palette (the footer's names are short, to fit eleven keys in 120 columns).
_PALETTE_HELP = {
    "plug": "plug the cable in",
    "unplug": "plug the cable out",
    "present_tag": "present an id tag",
    "stop": "stop the session",
    "fault": "inject a fault (asks the error code), or clear it when Faulted",
    "filter_frames": "filter the frames by direction, type, action, or search their text",
    "clear_filter": "show every frame again",
    "offline": "take the charger offline, or bring it back (replaying its queue)",
    "pause": "pause or resume the run's plan",
    "crafter": "craft and send a frame",
}


def frame_row(entry: dict[str, Any]) -> MessageRow:
    """One `frames` entry as a row of the console's message table (out: the charger sent it)."""
    when = datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00")).timestamp()
    kind = str(entry.get("type") or "")
    return MessageRow(
        when,
        str(entry["charger"]),
        "out" if entry["direction"] == "sent" else "in",
        _TYPES.get(kind, kind),
        str(entry.get("message_id") or ""),
        str(entry.get("action") or ""),
        str(entry["frame"]),
    )


class TagScreen(ModalScreen[str | None]):
    """Ask for the id tag the driver presents (Enter: present it, Escape: never mind)."""

    DEFAULT_CSS = """
    TagScreen { align: center middle; }
    TagScreen > Vertical { width: 50; height: auto; border: round $accent; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Present a tag at {self.target}")
            yield Input(DEFAULT_TAG, placeholder="id tag", id="tag")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CrafterScreen(Screen[None]):
    """Send one frame on the selected charger's connection: an action with a JSON payload, or (with the
    action left empty) the payload box's text as the raw frame, valid or not. The answer, or the
    CALLERROR, shows below with its round-trip time."""

    AUTO_FOCUS = "#crafter-action"
    DEFAULT_CSS = """
    CrafterScreen #crafter { padding: 0 1; }
    CrafterScreen #crafter-target { height: 3; }
    CrafterScreen #crafter-target Input { width: 1fr; }
    CrafterScreen #crafter-payload { height: 1fr; min-height: 6; }
    CrafterScreen #crafter-result {
        height: 10; border: round $panel-lighten-2; border-title-color: $text-accent;
        padding: 0 1; overflow-y: auto;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send"),
        Binding("ctrl+t", "template", "Template"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, client: ControlClient, charger: str, actions: list[str]) -> None:
        super().__init__()
        self.client = client
        self.charger = charger
        self.actions = actions
        self.last: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="crafter"):
            with Horizontal(id="crafter-target"):
                yield Label(f" {self.charger} sends ", id="crafter-charger")
                yield Input(
                    placeholder="action (empty: the box below is the raw frame)",
                    suggester=SuggestFromList(self.actions, case_sensitive=False),
                    id="crafter-action",
                )
            yield TextArea("{}", language="json", id="crafter-payload")
            result = Static("", id="crafter-result")
            result.border_title = "Answer"
            yield result
        yield Footer()

    @work(exclusive=True, group="template")
    async def action_template(self) -> None:
        action = self.query_one("#crafter-action", Input).value.strip()
        try:
            reply = await self.client.request("template", charger=self.charger, action=action)
        except (ControlRefusedError, ControlUnreachableError) as exc:
            self._show(Text(str(exc), style="red"))
            return
        self.query_one("#crafter-payload", TextArea).text = json.dumps(reply["payload"], indent=2)

    @work(exclusive=True, group="send")
    async def action_send(self) -> None:
        action = self.query_one("#crafter-action", Input).value.strip()
        text = self.query_one("#crafter-payload", TextArea).text
        fields: dict[str, Any] = {"charger": self.charger}
        if action:
            try:
                payload = json.loads(text)
            except ValueError as exc:
                self._show(Text(f"the payload is not JSON: {exc}", style="red"))
                return
            if not isinstance(payload, dict):
                self._show(Text("the payload must be a JSON object", style="red"))
                return
            fields |= {"action": action, "payload": payload}
        else:
            fields["frame"] = text.strip()
        self._show(Text("sent, waiting for the answer…", style="dim"))
        try:
            reply = await self.client.request("send", **fields)
        except (ControlRefusedError, ControlUnreachableError) as exc:
            self._show(Text(str(exc), style="red"))
            return
        self.last = reply
        kind = str(reply["kind"])
        style = "green" if kind == "CALLRESULT" else "bold red"
        rtt = f" in {reply['rtt_ms']:.1f} ms" if reply.get("rtt_ms") is not None else ""
        body = Text(f"{kind}{rtt}\n", style=style)
        body.append(str(reply.get("answer") or ""))
        self._show(body)

    def _show(self, content: Text) -> None:
        self.query_one("#crafter-result", Static).update(content)


class EmulatorApp(App[None]):
    """See the module docstring."""

    TITLE = "Voltyard emulator"
    CSS_PATH = Path(__file__).parent.parent / "app.tcss"
    CSS = """
    #connectors { height: 1fr; }
    #frames { height: 1fr; border-top: solid $panel-lighten-2; }
    #emulate-status { height: 1; padding: 0 1; background: $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "plug", "Plug"),
        Binding("u", "unplug", "Unplug"),
        Binding("t", "present_tag", "Tag"),
        Binding("s", "stop", "Stop"),
        Binding("f", "fault", "Fault"),
        Binding("slash", "filter_frames", "Filter"),
        Binding("x", "clear_filter", "Unfilter"),
        Binding("o", "offline", "Link"),
        Binding("space", "pause", "Pause"),
        Binding("c", "crafter", "Crafter"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, socket_path: Path, *, title: str | None = None, poll: bool = True) -> None:
        super().__init__()
        self.client = ControlClient(socket_path)
        if title:
            self.sub_title = title
        self.poll = poll
        self.chargers: list[dict[str, Any]] = []
        self.rows: list[tuple[str, int]] = []  # (charger, connector) of each table row
        self.paused = False
        self.frames_charger: str | None = None
        self.frames_since = 0
        self.frame_rows: deque[MessageRow] = deque(maxlen=KEEP)  # the selected charger's, unfiltered
        self.frame_filter = FrameFilter()
        self.actions: list[str] = []  # the selected charger's version's actions, for the filter's hints
        self.message = ""

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette (ctrl+p) offers every key of the main screen, by its footer name."""
        yield from super().get_system_commands(screen)
        if screen is not self.screen_stack[0]:
            return
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action != "quit":
                key = "/" if binding.key == "slash" else binding.key
                help_text = f"key {key}: {_PALETTE_HELP.get(binding.action, binding.description)}"
                yield SystemCommand(binding.description, help_text, partial(self.run_action, binding.action))

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row", zebra_stripes=True, id="connectors")
        yield MessageTable(id="frames")
        yield Static("", id="emulate-status")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#connectors", DataTable)
        for label in ("Charger", "OCPP", "Link", "Queued", "Conn", "Status", "Error", "Session"):
            table.add_column(label, key=label)
        await self.refresh_state()
        if self.poll:
            self.set_interval(POLL_S, self.refresh_state)

    # --- polling ------------------------------------------------------------------------------------

    async def refresh_state(self) -> None:
        """The table from `chargers`, the frame pane from `frames` of the selected charger."""
        try:
            reply = await self.client.request("chargers")
            status = await self.client.request("status")
        except (ControlRefusedError, ControlUnreachableError) as exc:
            self.say(str(exc), error=True)
            return
        self.chargers = reply["chargers"]
        self.paused = bool(status.get("paused"))
        self._fill_table()
        await self._poll_frames()
        self._show_status()

    def _fill_table(self) -> None:
        table: DataTable[str | Text] = self.query_one("#connectors", DataTable)
        cursor = table.cursor_row
        table.clear()
        self.rows = []
        for charger in self.chargers:
            link = Text("online", style="green") if charger["online"] else Text("offline", style="bold red")
            for connector in charger["connectors"]:
                session = connector["session"]
                tx = "" if session is None else f"{session['id_tag']} tx {session['transaction_id'] or '…'}"
                status = str(connector["status"])
                table.add_row(
                    charger["id"],
                    charger["version"],
                    link,
                    str(charger["queued"]),
                    str(connector["connector"]),
                    Text(status, style=_STATUS_STYLE.get(status, "")),
                    "" if connector["error_code"] == "NoError" else str(connector["error_code"]),
                    tx,
                )
                self.rows.append((charger["id"], int(connector["connector"])))
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))

    async def _poll_frames(self) -> None:
        selected = self.selected()
        if selected is None:
            return
        charger = selected[0]
        pane = self.query_one("#frames", MessageTable)
        if charger != self.frames_charger:
            self.frames_charger, self.frames_since = charger, 0
            self.frame_rows.clear()
            self.actions = []
            pane.show_rows([])
        try:
            reply = await self.client.request("frames", charger=charger, since=self.frames_since)
        except ControlRefusedError as exc:
            pane.border_title = str(exc)
            return
        except ControlUnreachableError:
            return
        self.frames_since = int(reply["last"])
        rows = [frame_row(entry) for entry in reply["frames"]]
        self.frame_rows.extend(rows)
        pane.append((row for row in rows if self.frame_filter(row)), follow=True)
        self._title_frames()

    def _title_frames(self) -> None:
        pane = self.query_one("#frames", MessageTable)
        title = f"Frames of {self.frames_charger}" if self.frames_charger else "Frames"
        if self.frame_filter:
            title += f" · {pane.row_count} of {len(self.frame_rows)} · {self.frame_filter.describe()}"
        pane.border_title = title

    def apply_filter(self, wanted: FrameFilter) -> None:
        """Show the frames already polled that `wanted` lets through; the next ones pass it too."""
        self.frame_filter = wanted
        pane = self.query_one("#frames", MessageTable)
        pane.show_rows(row for row in self.frame_rows if wanted(row))
        if pane.row_count:
            pane.move_cursor(row=pane.row_count - 1)
        self._title_frames()
        self.say(f"frames: {wanted.describe()}" if wanted else "frames: all shown")

    def _show_status(self) -> None:
        online = sum(1 for charger in self.chargers if charger["online"])
        plan = "PAUSED" if self.paused else "running"
        line = Text(f"{online}/{len(self.chargers)} online · plan {plan}")
        if self.message:
            line.append(" · ")
            line.append(self.message, style="red" if self.message.startswith("!") else "")
        self.query_one("#emulate-status", Static).update(line)

    def say(self, message: str, *, error: bool = False) -> None:
        self.message = f"! {message}" if error else message
        self._show_status()

    def selected(self) -> tuple[str, int] | None:
        table = self.query_one("#connectors", DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def _connector(self) -> dict[str, Any] | None:
        selected = self.selected()
        for charger in self.chargers:
            for connector in charger["connectors"]:
                if selected == (charger["id"], connector["connector"]):
                    result: dict[str, Any] = {**connector, "online": charger["online"]}
                    return result
        return None

    # --- actions ------------------------------------------------------------------------------------

    async def command(self, name: str, **fields: object) -> dict[str, Any] | None:
        """Send a command for the selected connector; say what happened."""
        selected = self.selected()
        if selected is None:
            self.say("no connector selected", error=True)
            return None
        charger, connector = selected
        try:
            reply = await self.client.request(name, charger=charger, connector=connector, **fields)
        except (ControlRefusedError, ControlUnreachableError) as exc:
            self.say(str(exc), error=True)
            return None
        self.say(f"{name} {charger}/{connector}" + (f": {reply['status']}" if "status" in reply else ""))
        await self.refresh_state()
        return reply

    async def action_plug(self) -> None:
        await self.command("plug")

    async def action_unplug(self) -> None:
        await self.command("unplug")

    async def action_stop(self) -> None:
        await self.command("stop")

    async def action_fault(self) -> None:
        """Clear the fault of a Faulted connector, else ask which error code to inject."""
        selected, connector = self.selected(), self._connector()
        if selected is None or connector is None:
            self.say("no connector selected", error=True)
            return
        if connector["status"] == "Faulted":
            await self.command("clear-fault")
            return

        async def inject(code: str | None) -> None:
            if code:
                await self.command("inject-fault", code=code)

        self.push_screen(FaultScreen(f"{selected[0]} connector {selected[1]}"), inject)

    async def action_filter_frames(self) -> None:
        selected = self.selected()
        if selected is not None and not self.actions:
            try:
                reply = await self.client.request("template", charger=selected[0])
            except (ControlRefusedError, ControlUnreachableError):
                pass  # the hints are a help only; the filter works without them
            else:
                self.actions = list(reply["actions"])

        def chosen(wanted: FrameFilter | None) -> None:
            if wanted is not None:
                self.apply_filter(wanted)

        self.push_screen(FilterScreen(self.frame_filter, self.actions), chosen)

    def action_clear_filter(self) -> None:
        self.apply_filter(FrameFilter())

    async def action_offline(self) -> None:
        connector = self._connector()
        await self.command("offline" if connector is not None and connector["online"] else "online")

    def action_present_tag(self) -> None:
        selected = self.selected()
        if selected is None:
            self.say("no connector selected", error=True)
            return

        async def present(tag: str | None) -> None:
            if tag:
                await self.command("present-tag", id_tag=tag)

        self.push_screen(TagScreen(f"{selected[0]} connector {selected[1]}"), present)

    async def action_pause(self) -> None:
        try:
            reply = await self.client.request("resume" if self.paused else "pause")
        except (ControlRefusedError, ControlUnreachableError) as exc:
            self.say(str(exc), error=True)
            return
        self.paused = bool(reply["paused"])
        self.say("plan paused" if self.paused else "plan resumed")

    async def action_crafter(self) -> None:
        selected = self.selected()
        if selected is None:
            self.say("no connector selected", error=True)
            return
        try:
            reply = await self.client.request("template", charger=selected[0])
        except (ControlRefusedError, ControlUnreachableError) as exc:
            self.say(str(exc), error=True)
            return
        await self.push_screen(CrafterScreen(self.client, selected[0], list(reply["actions"])))
