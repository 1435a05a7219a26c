"""Id tags: list, add or change (status, expiry, parent), block, delete, import a CSV, send the local list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import IdTag, format_time, iso_utc
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.screens.forms import ConfirmModal, FormField, FormModal, describe_error, need
from voltyard_tui.state import Change

__all__ = ["TAG_STATUSES", "TagsScreen", "parse_expiry"]

TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")
_STATUS_STYLES = {"Accepted": "green", "Blocked": "bold red", "Expired": "yellow", "Invalid": "grey58"}


def parse_expiry(text: str) -> str | None:
    """The expiry field (a date, or a date and time, local unless a zone is given) as the API's ISO UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expiry: {text!r} is not a date (YYYY-MM-DD) or date and time") from None
    if when.tzinfo is None:
        when = when.astimezone()  # as the operator reads times: local
    return iso_utc(when.astimezone(UTC).timestamp())


def _expiry_text(stamp: float | None) -> str:
    return format_time(stamp, "%Y-%m-%d %H:%M") if stamp is not None else ""


class TagsScreen(ConsoleScreen):
    """The appliance's id tags (what Authorize and the local list are built from)."""

    AUTO_FOCUS = "#tags"
    DEFAULT_CSS = """
    TagsScreen #tags { height: 1fr; }
    TagsScreen #tags-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add tag"),
        Binding("enter", "edit", "Edit", show=False),
        Binding("m", "edit", "Edit/expire"),
        Binding("o", "block", "Block"),
        Binding("delete", "delete", "Delete"),
        Binding("u", "import_csv", "Import CSV"),
        Binding("s", "send_list", "Send local list"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, IdTag] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="tags-status")
        yield DataTable[str | Text](id="tags", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#tags", DataTable)
        for label in ("Id tag", "Status", "Expires", "Parent"):
            table.add_column(label, key=label)
        super().on_mount()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def on_change(self, change: Change) -> None:
        event = change.event
        if event is not None and event.kind == "IdTagChanged":
            self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="tags")
    @while_attached
    async def _load(self) -> None:
        try:
            tags = await self.console.client.id_tags()
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        self.tags = {tag.id_tag: tag for tag in tags}
        table = self.query_one("#tags", DataTable)
        selected = self.selected()
        table.clear()
        for tag in tags:
            table.add_row(
                tag.id_tag,
                Text(tag.status, style=_STATUS_STYLES.get(tag.status, "")),
                _expiry_text(tag.expiry_date),
                tag.parent_id_tag or "",
                key=tag.id_tag,
            )
        if selected in self.tags:
            table.move_cursor(row=table.get_row_index(selected))
        blocked = sum(1 for tag in tags if tag.status != "Accepted")
        self._say(f"{len(tags)} id tags · {blocked} not accepted · operator {self.console.operator}")

    def _say(self, text: Text | str) -> None:
        self.query_one("#tags-status", Static).update(text)

    def selected(self) -> str | None:
        table = self.query_one("#tags", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key if isinstance(key, str) else None

    def _done(self, message: str | None) -> None:
        if message:
            self.notify(message, title="Id tags")
            self.action_reload()

    def _tag_form(self, tag: IdTag | None) -> FormModal:
        client = self.console.client
        operator = self.console.operator

        async def submit(values: dict[str, str]) -> str:
            id_tag = need(values, "id_tag")
            if len(id_tag) > 20:
                raise ValueError("id_tag: OCPP 1.6 id tags are at most 20 characters")
            expiry = parse_expiry(values.get("expiry", ""))
            parent = values.get("parent") or None
            saved = await client.put_id_tag(
                id_tag, status=values["status"], expiry_date=expiry, parent_id_tag=parent, operator=operator
            )
            return f"{saved.id_tag}: {saved.status}"

        def confirm(values: dict[str, str]) -> str | None:
            if values.get("status") == "Blocked" and (tag is None or tag.status != "Blocked"):
                return f"Block id tag {values.get('id_tag')}? Its holder can no longer start a charge."
            return None

        fields = [
            FormField("id_tag", "Id tag (1-20 characters)", tag.id_tag if tag else "", "e.g. 04A2B3C4D5"),
            FormField("status", "Status", tag.status if tag else "Accepted", choices=TAG_STATUSES),
            FormField(
                "expiry",
                "Expires (YYYY-MM-DD [HH:MM], local time; empty = never)",
                _expiry_text(tag.expiry_date) if tag else "",
                "never",
            ),
            FormField("parent", "Parent id tag (group)", (tag.parent_id_tag or "") if tag else "", "none"),
        ]
        title = f"Id tag {tag.id_tag}" if tag else "New id tag"
        return FormModal(title, fields, submit, note=f"as operator {operator}", confirm=confirm)

    def action_add(self) -> None:
        self.app.push_screen(self._tag_form(None), self._done)

    def action_edit(self) -> None:
        selected = self.selected()
        if selected is not None:
            self.app.push_screen(self._tag_form(self.tags.get(selected)), self._done)

    def action_block(self) -> None:
        selected = self.selected()
        tag = self.tags.get(selected or "")
        if tag is None:
            return
        if tag.status == "Blocked":
            self.notify(f"{tag.id_tag} is already blocked.", title="Id tags")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._put(tag, "Blocked")

        self.app.push_screen(
            ConfirmModal(
                f"Block id tag {tag.id_tag}? Its holder can no longer start a charge.", title="Block"
            ),
            answered,
        )

    @work(group="tag-write")
    @while_attached
    async def _put(self, tag: IdTag, status: str) -> None:
        expiry = iso_utc(tag.expiry_date) if tag.expiry_date is not None else None
        try:
            await self.console.client.put_id_tag(
                tag.id_tag,
                status=status,
                expiry_date=expiry,
                parent_id_tag=tag.parent_id_tag,
                operator=self.console.operator,
            )
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        self._done(f"{tag.id_tag}: {status}")

    def action_delete(self) -> None:
        selected = self.selected()
        if selected is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(selected)

        self.app.push_screen(ConfirmModal(f"Delete id tag {selected}?", title="Delete"), answered)

    @work(group="tag-write")
    @while_attached
    async def _delete(self, id_tag: str) -> None:
        try:
            await self.console.client.delete_id_tag(id_tag, self.console.operator)
        except (ApiError, ApiUnreachableError) as exc:
            self._say(describe_error(exc))
            return
        self._done(f"{id_tag} deleted")

    def action_import_csv(self) -> None:
        client = self.console.client

        async def submit(values: dict[str, str]) -> str:
            path = Path(need(values, "path")).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"path: cannot read {path}: {exc.strerror or exc}") from None
            imported = await client.import_id_tags(text, self.console.operator)
            return f"{imported} id tags imported from {path.name}"

        note = "A CSV with the header id_tag,status,expiry_date,parent_id_tag; all rows or none are imported."
        form = FormModal("Import id tags", [FormField("path", "CSV file", placeholder="tags.csv")], submit,
                         note=note)  # fmt: skip
        self.app.push_screen(form, self._done)

    def action_send_list(self) -> None:
        client = self.console.client
        connected = sorted(c.id for c in self.console.state.chargers.values() if c.connected)

        async def submit(values: dict[str, str]) -> str:
            charger_id = need(values, "charger_id")
            answer = await client.send_local_list(
                charger_id, values.get("update_type") or "Full", self.console.operator
            )
            return f"{charger_id} answered SendLocalList: {answer.get('status', answer)}"

        fields = [
            FormField("charger_id", "Charger", connected[0] if connected else "", "charger id"),
            FormField("update_type", "Update type", "Full", choices=("Full", "Differential")),
        ]
        note = "Sends the appliance's id tags as the charger's local authorization list (next version)."
        self.app.push_screen(FormModal("Send local list", fields, submit, note=note), self._done)
