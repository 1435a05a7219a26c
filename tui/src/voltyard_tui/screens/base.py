"""The base of the console's main screens: typed access to the app, and redraws driven by the state.

A screen subscribes to the app's `changes` signal while mounted and redraws from `SiteState` whenever it
comes back to the front, so a screen that sat in another mode while events flowed is never stale.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from textual.css.query import NoMatches
from textual.screen import Screen

from voltyard_tui.state import Change

if TYPE_CHECKING:
    from voltyard_tui.app import VoltyardApp

__all__ = ["ConsoleScreen", "console_of", "while_attached"]

_P = ParamSpec("_P")
_S = TypeVar("_S", bound=Screen[Any])


def console_of(screen: Screen[Any]) -> VoltyardApp:
    """The running app, typed as the console (screens only ever run inside it)."""
    return cast("VoltyardApp", screen.app)


def while_attached(
    method: Callable[Concatenate[_S, _P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, None]]:
    """A screen's worker whose API call may come back after the screen was closed (or the console quit):
    its widgets are gone then, and drawing into them raised NoMatches, which a worker turns into a crash of
    the whole console. What it would have drawn has nowhere to go; anything else still raises."""

    async def run(screen: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            await method(screen, *args, **kwargs)
        except NoMatches:
            if screen.is_attached:
                raise

    functools.update_wrapper(run, method)  # the worker's name is the method's
    return run


class ConsoleScreen(Screen[None]):
    """A main screen: call `redraw` on resume and `on_change` for each state change."""

    @property
    def console(self) -> VoltyardApp:
        return console_of(self)

    def on_mount(self) -> None:
        self.console.changes.subscribe(self, self.on_change)
        self.redraw()

    def on_screen_resume(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Draw everything from the app's state (override)."""

    def on_change(self, change: Change) -> None:
        """React to one change of the state (override; default: redraw)."""
        self.redraw()
