"""Site power against the site limit: a gauge line and a sparkline of the recent samples."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

__all__ = ["PowerBar", "gauge"]

BAR_WIDTH = 60


def gauge(power_kw: float, limit_kw: float | None, width: int = BAR_WIDTH) -> Text:
    """A bar of `width` cells filled in proportion to power/limit; red once at or over the limit."""
    if not limit_kw or limit_kw <= 0:
        return Text(f"{power_kw:.1f} kW (no site limit set)", style="bold")
    ratio = power_kw / limit_kw
    filled = max(0, min(width, round(ratio * width)))
    style = "red" if ratio >= 1.0 else "yellow" if ratio >= 0.85 else "green"
    text = Text()
    text.append("█" * filled, style=style)
    text.append("░" * (width - filled), style="grey37")
    text.append(f"  {power_kw:.1f} / {limit_kw:.1f} kW  ({ratio:.0%})", style=f"bold {style}")
    return text


class PowerBar(Vertical):
    """The site's power draw against its limit, with the history of the last samples."""

    DEFAULT_CSS = """
    PowerBar {
        height: auto;
        border: round $panel-lighten-2;
        border-title-color: $text-accent;
        padding: 0 1;
    }
    PowerBar > #power-gauge { height: 1; }
    PowerBar > #power-split { height: 1; color: $text-muted; }
    PowerBar > Sparkline { height: 3; margin-top: 1; }
    PowerBar > Sparkline > .sparkline--max-color { color: $warning; }
    PowerBar > Sparkline > .sparkline--min-color { color: $success; }
    """

    def compose(self) -> ComposeResult:
        self.border_title = "Site power"
        yield Static(gauge(0.0, None), id="power-gauge")
        yield Static("", id="power-split")
        yield Sparkline([], id="power-history")

    def show(
        self,
        power_kw: float,
        limit_kw: float | None,
        history: Sequence[float],
        chargers_kw: float | None = None,
        cabinet_kw: float | None = None,
    ) -> None:
        self.query_one("#power-gauge", Static).update(gauge(power_kw, limit_kw))
        split = ""
        if chargers_kw is not None and cabinet_kw is not None:
            split = f"networked chargers {chargers_kw:.1f} kW · DC cabinet {cabinet_kw:.1f} kW"
        self.query_one("#power-split", Static).update(split)
        self.query_one(Sparkline).data = list(history)
