"""A debounced boolean input: its stable value follows the raw one only after the raw value has
held for `assert_s` (to become True) or `release_s` (to become False). The PLC debounces its switch
inputs too; the host's own debounce keeps one glitching frame from faulting a gun and makes
recovery wait until the cause is really gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Debounced:
    __slots__ = ("_assert_s", "_loop", "_on_change", "_pending", "_release_s", "_timer", "stable")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        assert_s: float,
        release_s: float,
        on_change: Callable[[bool], None],
    ) -> None:
        self._loop = loop
        self._assert_s = assert_s
        self._release_s = release_s
        self._on_change = on_change
        self._timer: asyncio.TimerHandle | None = None
        self._pending: bool | None = None
        self.stable = False

    def feed(self, raw: bool) -> None:
        if raw == self.stable:
            self._cancel()
            return
        if self._pending == raw:
            return  # already waiting for this value to hold
        self._cancel()
        self._pending = raw
        self._timer = self._loop.call_later(self._assert_s if raw else self._release_s, self._commit, raw)

    def close(self) -> None:
        self._cancel()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._pending = None

    def _commit(self, value: bool) -> None:
        self._timer = None
        self._pending = None
        self.stable = value
        self._on_change(value)
