"""Action -> handler table, built once at start from the handler modules (no global route list).

A handler takes the session and the validated payload and returns the response payload, or an
awaitable of it when the answer must wait (a durable write). A handler registered with `whole_call`
takes the decoded CALL instead (`voltyard._native.Call` or a leniency `RepairedCall`), for what the
decoder reads natively (MeterValues). Handlers raise `OcppError` subclasses to answer with a CALLERROR.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voltyard.gateway.connection import ChargerConnection

__all__ = ["Handler", "Payload", "Reply", "Router"]

Payload = dict[str, Any]
Reply = Payload | Awaitable[Payload]
# The second argument is the payload, or the decoded CALL for a `whole_call` handler.
Handler = Callable[["ChargerConnection", Any], Reply]


class Router:
    """Handlers of charger-initiated actions, one per action."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        # The handler of an action, or None: the dict's own method, one call per message.
        self.get: Callable[[str], Handler | None] = self._handlers.get
        self.whole_call: frozenset[str] = frozenset()

    def on(self, action: str, *, whole_call: bool = False) -> Callable[[Handler], Handler]:
        """Decorator registering the handler of `action` (given the whole CALL with `whole_call`); a
        second handler for it is a programming error."""

        def register(handler: Handler) -> Handler:
            if action in self._handlers:
                raise ValueError(f"{action} already has a handler: {self._handlers[action].__qualname__}")
            self._handlers[action] = handler
            if whole_call:
                self.whole_call |= {action}
            return handler

        return register

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))

    def __len__(self) -> int:
        return len(self._handlers)
