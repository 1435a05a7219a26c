"""Event-loop factories by name: uvloop (the default, fastest) or the stdlib asyncio loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from voltyard.errors import ConfigError

__all__ = ["LOOPS", "loop_factory"]

LOOPS = ("uvloop", "asyncio")


def loop_factory(name: str = "uvloop") -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory for `asyncio.Runner(loop_factory=...)`; uvloop is imported only when chosen."""
    if name == "uvloop":
        import uvloop  # noqa: PLC0415 - optional, imported on demand

        return uvloop.new_event_loop
    if name == "asyncio":
        return asyncio.new_event_loop
    raise ConfigError(f"unknown event loop {name!r} (known: {', '.join(LOOPS)})")
