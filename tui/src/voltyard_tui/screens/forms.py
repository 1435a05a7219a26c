"""Small modals for the operator's day: a yes/no confirmation and a form that sends one request once.

`ConfirmModal` asks before anything destructive goes out (a reset, a force-close, a new site limit, a
rejected registration, a blocked tag). `FormModal` takes a few fields, checks them, asks for confirmation
when the change is destructive, and sends exactly one request: a second key press while the confirmation
is open or the request is in flight is ignored, not sent again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.screens.base import while_attached

__all__ = ["ConfirmModal", "FormField", "FormModal", "describe_error", "need"]


def describe_error(exc: ApiError | ApiUnreachableError) -> Text:
    """The API's typed error as the operator should read it (its own words)."""
    if isinstance(exc, ApiUnreachableError):
        return Text(f"The control API did not answer: {exc}", style="bold red")
    text = Text(f"{exc.status} {exc.code}: ", style="bold red")
    text.append(exc.message)
    return text


class ConfirmModal(ModalScreen[bool]):
    """Ask once; dismisses True on `y` / Yes, False on `n` / Escape / No."""

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical {
        width: 80;
        height: auto;
        border: thick $error;
        background: $surface;
        padding: 1 2;
    }
    ConfirmModal #confirm-buttons { height: 3; margin-top: 1; }
    ConfirmModal #confirm-buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str, *, title: str = "Confirm") -> None:
        super().__init__()
        self.question = question
        self.title_text = title
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(Text(self.question), id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        if self._answered:  # a second key press while the first answer is being handled
            return
        self._answered = True
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(event.button.id == "yes")


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of a `FormModal`: a text input, or a choice when `choices` is given."""

    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    choices: tuple[str, ...] = ()
    password: bool = False


Submit = Callable[[dict[str, str]], Awaitable[str]]
"""Sends the request from the fields' text; returns what to tell the operator. Raises `ValueError` naming
the field ("field: why") for input it refuses, `ApiError`/`ApiUnreachableError` for the API's answer."""

Confirm = Callable[[dict[str, str]], str | None]
"""The question to ask before sending these values, or None when the change needs no confirmation."""


class FormModal(ModalScreen[str | None]):
    """A few fields, checked, confirmed if destructive, sent once; dismisses with the result message."""

    DEFAULT_CSS = """
    FormModal { align: center middle; }
    FormModal > Vertical {
        width: 90;
        height: auto;
        max-height: 40;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    FormModal #form-fields { height: auto; max-height: 26; }
    FormModal .field-label { margin-top: 1; }
    FormModal #form-result { height: auto; margin-top: 1; }
    FormModal #form-buttons { height: 3; margin-top: 1; }
    FormModal #form-buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Send"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        title: str,
        fields: list[FormField],
        submit: Submit,
        *,
        note: str = "",
        confirm: Confirm | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.submit = submit
        self.note = note
        self.confirm = confirm
        self.busy = False
        """True from the first press until the answer is in: further presses send nothing."""
        self.sent = 0
        self.result: str | None = None
        self.error: ApiError | ApiUnreachableError | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            if self.note:
                yield Static(Text(self.note, style="grey70"))
            with VerticalScroll(id="form-fields"):
                for field in self.fields:
                    yield Label(Text(field.label, style="bold"), classes="field-label")
                    if field.choices:
                        yield Select(
                            [(c, c) for c in field.choices],
                            id=f"field-{field.name}",
                            value=field.value if field.value in field.choices else field.choices[0],
                            allow_blank=False,
                        )
                    else:
                        yield Input(
                            field.value,
                            placeholder=field.placeholder,
                            id=f"field-{field.name}",
                            password=field.password,
                        )
            yield Static("", id="form-result")
            with Horizontal(id="form-buttons"):
                yield Button("Send (ctrl+s)", id="form-send", variant="primary")
                yield Button("Close", id="form-close")

    def on_mount(self) -> None:
        widgets = self.query("#form-fields Input, #form-fields Select")
        if widgets:
            widgets.first().focus()

    def values(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for field in self.fields:
            widget = self.query_one(f"#field-{field.name}")
            if isinstance(widget, Select):
                values[field.name] = "" if widget.is_blank() else str(widget.value)
            elif isinstance(widget, Input):
                values[field.name] = widget.value.strip()
        return values

    def _say(self, text: Text | str) -> None:
        self.query_one("#form-result", Static).update(text)

    def action_submit(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.query_one("#form-send", Button).disabled = True
        values = self.values()
        question = self.confirm(values) if self.confirm is not None else None
        if question is None:
            self._send(values)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._send(values)
            else:
                self._say(Text("Not sent.", style="yellow"))
                self._idle()

        self.app.push_screen(ConfirmModal(question, title=self.title_text), answered)

    def _idle(self) -> None:
        self.busy = False
        self.query_one("#form-send", Button).disabled = False

    @work(exclusive=True, group="form")
    @while_attached
    async def _send(self, values: dict[str, str]) -> None:
        self._say(Text("Sending…", style="italic"))
        self.sent += 1
        try:
            self.result = await self.submit(values)
        except ValueError as exc:
            self.sent -= 1  # refused before anything went out
            self._say(Text(f"Not sent: {exc}", style="red"))
            self._idle()
            return
        except (ApiError, ApiUnreachableError) as exc:
            self.error = exc
            self._say(describe_error(exc))
            self._idle()
            return
        self.dismiss(self.result)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-send":
            self.action_submit()
        else:
            self.action_close()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_close(self) -> None:
        self.dismiss(None)


def need(values: dict[str, Any], name: str) -> str:
    """A required field's text, or `ValueError` naming it."""
    value = str(values.get(name) or "").strip()
    if not value:
        raise ValueError(f"{name}: required")
    return value
