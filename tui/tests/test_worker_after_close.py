"""A screen's worker whose API call comes back after the screen closed must not crash the console: CI saw
`NoMatches: '#count-online'` end the demo journey, the dashboard's reload finishing as the console quit (a
worker's exception ends the whole app). `while_attached` swallows that error only once the screen is gone."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from voltyard_tui.screens.base import while_attached


class Counts(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static(id="count")

    @while_attached
    async def draw(self) -> None:
        # What a worker does once its API call is answered.
        self.query_one("#count", Static).update("3 online")


async def test_drawing_into_a_closed_screen_does_nothing() -> None:
    screen = Counts()  # never mounted, or already removed: no widgets, not attached

    await screen.draw()

    assert not screen.is_attached


async def test_a_missing_widget_on_a_screen_still_shown_is_an_error() -> None:
    screen = Counts()

    class Console(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Console().run_test() as pilot:
        await pilot.pause()
        await screen.query_one("#count").remove()
        with pytest.raises(NoMatches):
            await screen.draw()
