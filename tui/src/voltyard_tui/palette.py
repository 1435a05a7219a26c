"""Command palette entries: go to any screen, open any charger, send a command to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from voltyard_tui.screens.charger_detail import ChargerDetailScreen

if TYPE_CHECKING:
    from voltyard_tui.app import VoltyardApp

__all__ = ["VoltyardCommands"]

SCREENS = (
    ("dashboard", "Dashboard: site power, counts, sessions, events"),
    ("chargers", "Chargers: the live table"),
    ("cabinet", "Cabinet: the ring and the guns"),
    ("inspector", "Inspector: OCPP messages"),
    ("crafter", "Crafter: send a raw CALL"),
    ("events", "Events and alerts"),
)


class VoltyardCommands(Provider):
    """Screens and chargers, found by name."""

    @property
    def console(self) -> VoltyardApp:
        return cast("VoltyardApp", self.app)

    def _entries(self) -> list[tuple[str, str, Callable[[], Awaitable[Any]]]]:
        app = self.console
        entries: list[tuple[str, str, Callable[[], Awaitable[Any]]]] = [
            (f"Go to {mode}", help_text, partial(app.switch_mode, mode)) for mode, help_text in SCREENS
        ]
        for charger_id in sorted(app.state.chargers):
            entries.append((f"Open charger {charger_id}", "its connectors, sessions and commands",
                            partial(self._open, charger_id)))  # fmt: skip
        return entries

    async def _open(self, charger_id: str) -> None:
        await self.console.switch_mode("chargers")
        await self.console.push_screen(ChargerDetailScreen(charger_id))

    async def discover(self) -> Hits:
        for name, help_text, callback in self._entries()[: len(SCREENS)]:
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
