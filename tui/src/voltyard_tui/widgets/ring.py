"""The cabinet's ring of slots, drawn as text: modules with health and temperature, contactors, islands.

Slots run clockwise: the top row left to right, then the bottom row right to left, so the ring closes at
both ends. Between neighbours the bridge (slot i's CW and slot i+1's CCW contactor) is drawn as `══` when
both are closed and `─ ─` when either is open. Each slot's frame takes the colour of the gun whose island
holds it in the latest plan (grey: in no island).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from voltyard_tui.models import Cabinet, Module, Slot
from voltyard_tui.widgets.gun_card import island_colour

__all__ = ["RingView", "module_style"]

BOX_WIDTH = 20
BRIDGE = 4
HOT_C = 70.0
IDLE = "grey42"


def module_style(module: Module) -> str:
    """Red when tripped or unhealthy, yellow when hot, green otherwise."""
    if module.tripped or not module.healthy:
        return "bold red"
    if module.temperature_c is not None and module.temperature_c >= HOT_C:
        return "bold yellow"
    return "green"


def _switch(closed: bool) -> Text:
    return Text("■", style="bold") if closed else Text("□", style="grey58")


def _slot_lines(slot: Slot, colour: str, height: int) -> list[Text]:
    """The slot's box, `height` lines of exactly BOX_WIDTH cells."""
    inner = BOX_WIDTH - 2
    frame = Style(color=colour)
    home = f" G{slot.home_gun + 1}" if slot.home_gun is not None else ""
    title = f" S{slot.index + 1}{home} "
    top = Text("╭─", style=frame) + Text(title, style=Style(color=colour, bold=True))
    top += Text("─" * (inner - 1 - len(title)) + "╮", style=frame)
    body: list[Text] = []
    contactors = Text(" GC ") + _switch(slot.gc_closed) + Text("  MC ") + _switch(slot.mc_closed)
    body.append(contactors)
    for module in slot.modules:
        line = Text(f" M{module.index + 1} ")
        line += Text("●" if module.mn_closed else "○", style=module_style(module))
        temp = f" {module.temperature_c:3.0f}°C" if module.temperature_c is not None else "   –  "
        line += Text(temp, style=module_style(module))
        if module.tripped:
            line += Text(" TRIP", style="bold red")
        elif not module.healthy:
            line += Text(" FAIL", style="bold red")
        body.append(line)
    while len(body) < height - 2:
        body.append(Text(""))
    lines = [top]
    for text in body:
        text.truncate(inner, pad=True)
        lines.append(Text("│", style=frame) + text + Text("│", style=frame))
    lines.append(Text("╰" + "─" * inner + "╯", style=frame))
    return lines


def _bridge(closed: bool, colour: str) -> Text:
    return Text("════", style=Style(color=colour, bold=True)) if closed else Text("─  ─", style="grey50")


class RingView(Widget):
    """Draws a `Cabinet`'s ring."""

    DEFAULT_CSS = """
    RingView {
        height: auto;
        width: 100%;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cabinet = Cabinet(configured=False)

    def show(self, cabinet: Cabinet) -> None:
        self.cabinet = cabinet
        self.refresh(layout=True)

    def _colour(self, slot: int) -> str:
        gun = self.cabinet.island_of(slot)
        return island_colour(gun) if gun is not None else IDLE

    def _bridged(self, left: Slot, right: Slot) -> bool:
        """The bridge from `left` clockwise to `right` conducts."""
        return left.cw_closed and right.ccw_closed

    def _row(self, slots: list[Slot], clockwise: bool, height: int) -> list[Text]:
        boxes = [_slot_lines(slot, self._colour(slot.index), height) for slot in slots]
        middle = height // 2
        lines = []
        for y in range(height):
            line = Text()
            for i, box in enumerate(boxes):
                if i:
                    a, b = (slots[i - 1], slots[i]) if clockwise else (slots[i], slots[i - 1])
                    gun_a, gun_b = self.cabinet.island_of(a.index), self.cabinet.island_of(b.index)
                    colour = island_colour(gun_a) if gun_a is not None and gun_a == gun_b else IDLE
                    line += _bridge(self._bridged(a, b), colour) if y == middle else Text(" " * BRIDGE)
                line += box[y]
            lines.append(line)
        return lines

    def _mark(self, a: Slot, b: Slot) -> Text:
        """The vertical bridge from `a` clockwise to `b`, joining the two rows at one end of the ring."""
        gun_a, gun_b = self.cabinet.island_of(a.index), self.cabinet.island_of(b.index)
        colour = island_colour(gun_a) if gun_a is not None and gun_a == gun_b else IDLE
        if self._bridged(a, b):
            return Text("║", style=Style(color=colour, bold=True))
        return Text("╎", style="grey50")

    def render(self) -> RenderableType:
        slots = list(self.cabinet.slots)
        if not slots:
            return Text("The cabinet reports no slots.", style="grey58")
        height = self._box_height()
        half = (len(slots) + 1) // 2
        top, bottom = slots[:half], list(reversed(slots[half:]))
        rows = self._row(top, True, height)
        if bottom:
            step = BOX_WIDTH + BRIDGE
            # An odd ring leaves the bottom row one slot short: align it right, under its clockwise neighbour.
            offset = (len(top) - len(bottom)) * step
            centre = BOX_WIDTH // 2
            left_at, right_at = offset + centre, (len(top) - 1) * step + centre
            joint = Text(" " * left_at) + self._mark(slots[-1], top[0])
            joint += Text(" " * (right_at - left_at - 1)) + self._mark(top[-1], slots[half])
            rows.append(joint)
            rows += [Text(" " * offset) + line for line in self._row(bottom, False, height)]
        return Group(*rows)

    def _box_height(self) -> int:
        # title line, contactor line, one line per module, bottom line
        return 3 + max(len(slot.modules) for slot in self.cabinet.slots)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        slots = self.cabinet.slots
        if not slots:
            return 1
        return self._box_height() * 2 + 1 if len(slots) > 1 else self._box_height()
