"""The uplink to the operator's central system in one line: its state, queue, last sync and URL."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from voltyard_tui.models import Uplink, UplinkPoint, format_age

__all__ = ["UPLINK_STYLES", "UplinkLine", "point_text", "uplink_text"]

UPLINK_STYLES = {
    "online": "bold green",
    "partial": "bold yellow",
    "connecting": "bold yellow",
    "pending": "bold yellow",
    "offline": "bold red",
    "idle": "grey70",
    "off": "grey58",
}
"""Colour by state: online green, on the way (or half there) yellow, offline red, nothing to relay grey."""


def uplink_text(uplink: Uplink, now: float) -> Text:
    """`Uplink online · queued 0 · last sync 12 s ago · ws://...`: the URL last, so that a narrow terminal
    cuts the URL (with an ellipsis) and never the state or the queue."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("Uplink ", style="bold")
    if not uplink.enabled:
        line.append("off", style=UPLINK_STYLES["off"])
        return line
    line.append(uplink.state, style=UPLINK_STYLES.get(uplink.state, ""))
    if uplink.state == "partial":
        line.append(f" ({uplink.online_points}/{len(uplink.charge_points)} online)")
    line.append(" · queued ")
    line.append(str(uplink.queued), style="bold" if uplink.queued else "")
    line.append(f" · last sync {format_age(uplink.last_sync, now)}")
    if uplink.url:
        line.append(f" · {uplink.url}", style="grey70")
    return line


def point_text(point: UplinkPoint, now: float) -> Text:
    """One charge point's link, for the charger screen: `uplink offline (why) · queued 3 · last sync ...`."""
    line = Text()
    line.append("uplink ")
    line.append(point.state, style=UPLINK_STYLES.get(point.state, ""))
    if point.detail:
        line.append(f" ({point.detail})")
    line.append(f" · queued {point.queued} · last sync {format_age(point.last_sync, now)}")
    return line


class UplinkLine(Static):
    """The dashboard's uplink line, hidden on a site without an uplink (nothing to say there)."""

    DEFAULT_CSS = """
    UplinkLine {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def show(self, uplink: Uplink | None, now: float) -> None:
        enabled = uplink is not None and uplink.enabled
        self.display = enabled
        if uplink is not None and enabled:
            self.update(uplink_text(uplink, now))
