"""The DC cabinet: the ring of slots and modules, islands coloured per gun, and a card per gun.

Read from GET /cabinet, again every poll interval while the screen is in front (the plan changes at the
planner's 10 Hz; a console needs far less). A site without a cabinet says so instead.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from voltyard_tui.client import ApiError, ApiUnreachableError
from voltyard_tui.models import Cabinet
from voltyard_tui.screens.base import ConsoleScreen, while_attached
from voltyard_tui.state import Change
from voltyard_tui.widgets.gun_card import GunCard
from voltyard_tui.widgets.ring import RingView

__all__ = ["CabinetScreen"]

LEGEND = Text.assemble(
    ("■", "bold"), " closed  ", ("□", "grey58"), " open  ", ("●", "green"), " module on  ", ("○", "green"),
    " module off  ", ("●", "bold yellow"), " hot  ", ("●", "bold red"), " tripped/failed  ",
    ("════", "bold"), " bridge closed  ", ("─  ─", "grey50"), " bridge open",
)  # fmt: skip


class CabinetScreen(ConsoleScreen):
    """The cabinet's ring and guns."""

    DEFAULT_CSS = """
    CabinetScreen #cabinet-status { height: 1; padding: 0 1; color: $text-muted; }
    CabinetScreen #cabinet-body { height: 1fr; }
    CabinetScreen #ring-box {
        height: auto;
        border: round $panel-lighten-2;
        border-title-color: $text-accent;
    }
    CabinetScreen #legend { height: 1; padding: 0 1; }
    CabinetScreen #guns { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Reload")]

    def __init__(self) -> None:
        super().__init__()
        self.cabinet: Cabinet | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading the cabinet…", id="cabinet-status")
        with VerticalScroll(id="cabinet-body"):
            with VerticalScroll(id="ring-box"):
                yield RingView(id="ring")
            yield Static(LEGEND, id="legend")
            yield Horizontal(id="guns")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ring-box").border_title = "Ring (clockwise: top row →, bottom row ←)"
        self.action_reload()

    def on_screen_resume(self) -> None:
        self._timer = self.set_interval(self.console.poll_interval, self.action_reload)

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def on_change(self, change: Change) -> None:
        if change.what == "connection" and self.console.connected:
            self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="cabinet")
    @while_attached
    async def _load(self) -> None:
        status = self.query_one("#cabinet-status", Static)
        try:
            cabinet = await self.console.client.cabinet()
        except (ApiError, ApiUnreachableError) as exc:
            status.update(Text(f"Could not read the cabinet: {exc}", style="red"))
            return
        self.cabinet = cabinet
        await self._draw(cabinet)

    async def _draw(self, cabinet: Cabinet) -> None:
        status = self.query_one("#cabinet-status", Static)
        body = self.query_one("#cabinet-body")
        body.display = cabinet.configured
        if not cabinet.configured:
            status.update(Text("No cabinet configured on this appliance.", style="bold"))
            return
        modules = sum(len(slot.modules) for slot in cabinet.slots)
        status.update(
            f"{len(cabinet.slots)} slots · {modules} modules · {len(cabinet.guns)} guns"
            + ("" if cabinet.plan is not None else " · no plan yet")
        )
        self.query_one(RingView).show(cabinet)
        guns = self.query_one("#guns", Horizontal)
        cards = list(guns.query(GunCard))
        if len(cards) != len(cabinet.guns):
            await guns.remove_children()
            cards = [GunCard(id=f"gun-{gun.index}") for gun in cabinet.guns]
            await guns.mount_all(cards)
        plans = cabinet.plan or ()
        for card, gun in zip(cards, cabinet.guns, strict=True):
            card.show(gun, plans[gun.index] if gun.index < len(plans) else None)

    def redraw(self) -> None:
        """Redraws come from GET /cabinet (`_load`), not from the state."""
