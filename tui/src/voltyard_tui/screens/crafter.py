"""The raw message crafter: any action with any JSON payload, schema-checked by the appliance or not.

For testing how a charger copes with what a central system should not send: with "validate" off the
appliance sends the CALL unchecked (POST /chargers/{id}/raw, `validate: false`) and still returns the
answer. The console only insists on what the route itself needs: a charger, an action and a JSON object.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.json import JSON
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Static, TextArea

from voltyard_tui.actions import ACTIONS, FieldKind
from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.screens.command_modal import describe_error

__all__ = ["CrafterScreen", "template"]


def template(action: str) -> str:
    """A starting payload for a known action: its required fields with example values."""
    spec = ACTIONS.get(action)
    if spec is None:
        return "{}"
    payload: dict[str, Any] = {}
    for field in spec.fields:
        if not field.required:
            continue
        if field.kind is FieldKind.INTEGER:
            payload[field.name] = int(field.example or 1)
        elif field.kind is FieldKind.CHOICE:
            payload[field.name] = field.choices[0]
        elif field.kind in (FieldKind.OBJECT, FieldKind.ARRAY):
            payload[field.name] = json.loads(field.example)
        else:
            payload[field.name] = field.example or ""
    return json.dumps(payload, indent=2)


class CrafterScreen(ConsoleScreen):
    """Send one hand-written CALL to one charger (Escape leaves a field, so the screen keys work again)."""

    AUTO_FOCUS = ""  # a focused field would swallow the screen keys (d, c, b…); Tab goes in

    DEFAULT_CSS = """
    CrafterScreen #crafter { padding: 0 1; }
    CrafterScreen #crafter-target { height: 3; }
    CrafterScreen #crafter-target Input { width: 1fr; }
    CrafterScreen #payload { height: 1fr; min-height: 8; }
    CrafterScreen #crafter-controls { height: 3; }
    CrafterScreen #crafter-controls Button { margin-right: 2; }
    CrafterScreen #crafter-result {
        height: 10;
        border: round $panel-lighten-2;
        border-title-color: $text-accent;
        padding: 0 1;
        overflow-y: auto;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send"),
        Binding("ctrl+t", "template", "Template"),
        Binding("escape", "blur", "Leave field", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="crafter"):
            with Horizontal(id="crafter-target"):
                yield Input(placeholder="charger id", id="crafter-charger")
                yield Input(
                    placeholder="action, e.g. DataTransfer (any name: the appliance may refuse it)",
                    id="crafter-action",
                    suggester=SuggestFromList(list(ACTIONS), case_sensitive=False),
                )
            yield Label("Payload (a JSON object):")
            yield TextArea("{}", id="payload")
            with Horizontal(id="crafter-controls"):
                yield Checkbox("validate against the OCPP 1.6 schema", value=True, id="validate")
                yield Button("Send", id="crafter-send", variant="primary")
                yield Button("Template", id="crafter-template")
            yield Static("", id="crafter-result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#crafter-result", Static).border_title = "Answer"

    def prefill(self, charger_id: str, action: str = "", payload: str | None = None) -> None:
        self.query_one("#crafter-charger", Input).value = charger_id
        if action:
            self.query_one("#crafter-action", Input).value = action
        if payload is not None:
            self.query_one("#payload", TextArea).text = payload
        self.query_one("#crafter-action" if not action else "#payload").focus()

    def _result(self, text: Text) -> None:
        self.query_one("#crafter-result", Static).update(text)

    def action_template(self) -> None:
        action = self.query_one("#crafter-action", Input).value.strip()
        self.query_one("#payload", TextArea).text = template(action)

    def action_send(self) -> None:
        charger_id = self.query_one("#crafter-charger", Input).value.strip()
        action = self.query_one("#crafter-action", Input).value.strip()
        problems = []
        if not charger_id:
            problems.append("charger id: required")
        if not action:
            problems.append("action: required")
        payload: object = None
        try:
            payload = json.loads(self.query_one("#payload", TextArea).text or "{}")
        except json.JSONDecodeError as exc:
            problems.append(f"payload: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        else:
            if not isinstance(payload, dict):
                problems.append("payload: the route sends a JSON object; got " + type(payload).__name__)
        if problems or not isinstance(payload, dict):
            self._result(Text("Not sent: " + "; ".join(problems), style="red"))
            return
        validate = self.query_one("#validate", Checkbox).value
        note = "schema-checked" if validate else "NOT schema-checked"
        self._result(Text(f"Sending {action} to {charger_id} ({note})…", style="italic"))
        self._send(charger_id, action, payload, validate)

    @work(exclusive=True, group="raw")
    @while_attached
    async def _send(self, charger_id: str, action: str, payload: dict[str, Any], validate: bool) -> None:
        try:
            answer = await self.console.client.raw(charger_id, action, payload, validate=validate)
        except (ApiError, ApiUnreachableError) as exc:
            self._result(describe_error(exc))
            return
        text = Text(f"{charger_id} answered {action}: ", style="bold green")
        text.append_text(JSON.from_data(answer).text)
        self._result(text)

    def action_blur(self) -> None:
        self.set_focus(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "crafter-send":
            self.action_send()
        elif event.button.id == "crafter-template":
            self.action_template()
