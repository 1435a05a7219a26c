"""One DC gun: session, V/A/kW, the plan's budget and its health, framed in its island's colour."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from voltyard_tui.models import Gun, GunPlan

__all__ = ["ISLAND_COLOURS", "GunCard", "island_colour"]

ISLAND_COLOURS = ("#4ea1ff", "#f6a623", "#7ed957", "#d77bff", "#ff6b6b", "#35d0c7", "#ffd93d", "#a0a0ff")
"""One colour per gun (cycled); the ring draws each gun's island in the same colour."""


def island_colour(gun: int) -> str:
    return ISLAND_COLOURS[gun % len(ISLAND_COLOURS)]


class GunCard(Static):
    """A gun's live figures; its border takes the colour of the gun's island."""

    DEFAULT_CSS = """
    GunCard {
        width: 1fr;
        height: 7;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    """

    def show(self, gun: Gun, plan: GunPlan | None) -> None:
        colour = island_colour(gun.index)
        self.styles.border = ("round", colour)
        self.border_title = f"[b]{gun.name}[/b]"
        self.border_subtitle = gun.session
        text = Text()
        text.append(f"{gun.voltage_v:6.0f} V {gun.current_a:6.0f} A\n", style="bold")
        text.append(f"{gun.power_kw:6.1f} kW", style=f"bold {colour}")
        if gun.max_power_kw:
            text.append(f" of {gun.max_power_kw:.0f}", style="grey58")
        text.append("\n")
        if plan is not None:
            text.append(f"budget {plan.budget_kw:.1f} kW", style="")
            if plan.limit:
                text.append(f" ({plan.limit})", style="grey58")
            text.append("\n")
        health = []
        if not gun.safety_ok:
            health.append(("SAFETY", "bold red"))
        if not gun.comm_ok:
            health.append(("COMM LOST", "bold red"))
        if gun.connector_temperature_c is not None:
            hot = gun.connector_temperature_c >= 70
            health.append((f"{gun.connector_temperature_c:.0f} °C", "bold yellow" if hot else "grey58"))
        for i, (label, style) in enumerate(health):
            text.append(("  " if i else "") + label, style=style)
        self.update(text)
