"""A form for one CSMS-initiated command: checked before sending, then the charger's answer or the error.

Checks are the schema's types, requirements and limits (`actions.py`); a field that fails says why under
itself and nothing is sent. The appliance checks the full schema again, and its 422 message is shown
as-is, as are the other typed errors (409 charger offline, 502 CALLERROR with its code, 504 timeout).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.json import JSON
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from voltyard_tui.actions import ACTIONS, ActionSpec, FieldKind, FieldSpec, FormError, parse_form
from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.screens.base import console_of, while_attached
from voltyard_tui.screens.forms import ConfirmModal

__all__ = ["DESTRUCTIVE", "CommandModal", "describe_error"]

DESTRUCTIVE = frozenset({
    "Reset", "UnlockConnector", "ClearCache", "ClearChargingProfile", "DeleteCertificate", "UpdateFirmware",
    "SignedUpdateFirmware", "ChangeAvailability", "RemoteStopTransaction",
})  # fmt: skip
"""Actions that interrupt a charge, take a charger out of service or lose its state: asked before sending."""


def describe_error(exc: ApiError | ApiUnreachableError) -> Text:
    """The API's typed error as the operator should read it."""
    if isinstance(exc, ApiUnreachableError):
        return Text(f"The control API did not answer: {exc}", style="bold red")
    text = Text(f"{exc.status} {exc.code}: ", style="bold red")
    text.append(exc.message)
    if exc.code == "call_error":
        details = exc.details
        text.append(f"\nCALLERROR {details.get('error_code')}", style="bold")
        if details.get("description"):
            text.append(f": {details['description']}")
        if details.get("error_details"):
            text.append(f"\n{json.dumps(details['error_details'])}", style="grey70")
    return text


def _field_widget(field: FieldSpec) -> Widget:
    widget_id = f"field-{field.name}"
    if field.kind is FieldKind.CHOICE:
        return Select([(choice, choice) for choice in field.choices], id=widget_id, prompt="choose…")
    if field.kind in (FieldKind.OBJECT, FieldKind.ARRAY):
        text = field.example if field.required else ""
        return TextArea(text, id=widget_id, placeholder=field.example, classes="json")
    return Input(placeholder=field.example or field.kind.value, id=widget_id)


class CommandModal(ModalScreen[None]):
    """Fill in, check and send one command to one charger."""

    DEFAULT_CSS = """
    CommandModal { align: center middle; }
    CommandModal > Vertical {
        width: 100;
        max-height: 38;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    CommandModal #fields { height: auto; max-height: 20; }
    CommandModal .field-label { margin-top: 1; }
    CommandModal .field-error { color: $error; height: auto; }
    CommandModal TextArea.json { height: 5; }
    CommandModal #result { height: auto; max-height: 12; margin-top: 1; }
    CommandModal #buttons { height: 3; margin-top: 1; }
    CommandModal #buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, charger_id: str, action: str) -> None:
        super().__init__()
        self.charger_id = charger_id
        self.spec: ActionSpec = ACTIONS[action]
        self.sent: list[dict[str, object]] = []
        self.answer: dict[str, Any] | None = None
        self.error: ApiError | ApiUnreachableError | None = None
        self.busy = False
        """From the first press until the answer is in (confirming included): presses send nothing."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"{self.spec.name} → {self.charger_id}"
            yield Static(Text(self.spec.summary, style="grey70"))
            with VerticalScroll(id="fields"):
                if not self.spec.fields:
                    yield Label("This action takes no fields.", classes="field-label")
                for field in self.spec.fields:
                    label = Text(field.name, style="bold")
                    label.append(
                        " *" if field.required else " (optional)", style="red" if field.required else "grey58"
                    )
                    hint = f"  {field.kind.value}"
                    if field.max_length:
                        hint += f", at most {field.max_length} characters"
                    label.append(hint, style="grey58")
                    yield Label(label, classes="field-label")
                    yield _field_widget(field)
                    yield Static("", id=f"error-{field.name}", classes="field-error")
            yield Static("", id="result")
            with Horizontal(id="buttons"):
                yield Button("Send", id="send", variant="primary")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        fields = self.query("#fields Input, #fields Select, #fields TextArea")
        if fields:
            fields.first().focus()

    def values(self) -> dict[str, str]:
        """Each field's text as typed (a blank choice is "")."""
        values: dict[str, str] = {}
        for field in self.spec.fields:
            widget = self.query_one(f"#field-{field.name}")
            if isinstance(widget, Select):
                values[field.name] = "" if widget.is_blank() else str(widget.value)
            elif isinstance(widget, TextArea):
                values[field.name] = widget.text
            elif isinstance(widget, Input):
                values[field.name] = widget.value
        return values

    def _show_errors(self, errors: dict[str, str]) -> None:
        for field in self.spec.fields:
            self.query_one(f"#error-{field.name}", Static).update(errors.get(field.name, ""))

    def action_send(self) -> None:
        if self.busy:
            return
        try:
            payload = parse_form(self.spec, self.values())
        except FormError as exc:
            self._show_errors(exc.errors)
            self.query_one("#result", Static).update(
                Text("Not sent: fix the fields marked above.", style="red")
            )
            return
        self._show_errors({})
        self.busy = True
        self.query_one("#send", Button).disabled = True
        if self.spec.name not in DESTRUCTIVE:
            self._go(payload)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._go(payload)
            else:
                self.busy = False
                self.query_one("#send", Button).disabled = False
                self.query_one("#result", Static).update(Text("Not sent.", style="yellow"))

        shown = json.dumps(payload) if payload else "no fields"
        question = f"Send {self.spec.name} to {self.charger_id} ({shown})?"
        self.app.push_screen(ConfirmModal(question, title=self.spec.name), answered)

    def _go(self, payload: dict[str, object]) -> None:
        self.sent.append(payload)
        self.query_one("#result", Static).update(Text(f"Waiting for {self.charger_id}…", style="italic"))
        self._send(payload)

    @work(exclusive=True, group="send")
    @while_attached
    async def _send(self, payload: dict[str, object]) -> None:
        result = self.query_one("#result", Static)
        try:
            self.answer = await console_of(self).client.command(self.charger_id, self.spec.name, payload)
        except (ApiError, ApiUnreachableError) as exc:
            self.error = exc
            result.update(describe_error(exc))
        else:
            self.error = None
            result.update(_answer(self.charger_id, self.answer))
        finally:
            self.busy = False
            self.query_one("#send", Button).disabled = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        elif event.button.id == "close":
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(None)


def _answer(charger_id: str, answer: dict[str, Any]) -> Text:
    text = Text(f"{charger_id} answered: ", style="bold green")
    text.append_text(JSON.from_data(answer).text)
    return text
