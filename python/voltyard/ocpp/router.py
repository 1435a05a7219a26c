"""Action -> handler table, built once at start from the handler modules (no global route list).

A handler takes the session and the validated payload and returns the response payload, or an
awaitable of it when the answer must wait (a durable write). Handlers raise `OcppError` subclasses to
answer with a CALLERROR.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voltyard.gateway.connection import ChargerConnection

__all__ = ["Handler", "Payload", "Reply", "Router"]

Payload = dict[str, Any]
Reply = Payload | Awaitable[Payload]
Handler = Callable[["ChargerConnection", Payload], Reply]


class Router:
    """Handlers of charger-initiated actions, one per action."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def on(self, action: str) -> Callable[[Handler], Handler]:
        """Decorator registering the handler of `action`; a second handler for it is a programming error."""

        def register(handler: Handler) -> Handler:
            if action in self._handlers:
                raise ValueError(f"{action} already has a handler: {self._handlers[action].__qualname__}")
            self._handlers[action] = handler
            return handler

        return register

    def get(self, action: str) -> Handler | None:
        return self._handlers.get(action)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))

    def __len__(self) -> int:
        return len(self._handlers)
