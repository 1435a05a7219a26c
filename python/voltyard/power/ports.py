"""What the site power manager needs from the rest of the appliance, as narrow protocols.

The manager takes its collaborators as constructor arguments typed by these protocols, so that the
runtime passes the real objects (`Site`, `EventBus`, `Commands.call`, `Transactions`,
`Registry.version_of`) and the unit tests pass small fakes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from voltyard.events.kinds import Event

__all__ = [
    "ChargerVersion", "Clock", "CommandCall", "EventPort", "SiteView", "SystemClock", "TransactionsView",
]  # fmt: skip


class SiteView(Protocol):
    """The site limit (`voltyard.domain.site.Site`)."""

    @property
    def limit_kw(self) -> float: ...


class EventPort(Protocol):
    """The event bus (`voltyard.events.bus.EventBus`)."""

    def subscribe(self, subscriber: Callable[[Event], None], /) -> Callable[[], None]: ...

    def publish(self, event: Event, /) -> None: ...

    def live(self, event: Event, /) -> None: ...


class CommandCall(Protocol):
    """`voltyard.ocpp.commands.Commands.call`: the charger's answer, or a `CommandError`."""

    def __call__(
        self, charger_id: str, action: str, payload: dict[str, Any], /, *, timeout: float | None = ...
    ) -> Awaitable[dict[str, Any]]: ...


class TransactionsView(Protocol):
    """The open transactions and the latest metered power (`voltyard.domain.transactions.Transactions`)."""

    @property
    def open(self) -> Mapping[tuple[str, int], Mapping[int, str]]: ...

    @property
    def power_w(self) -> Mapping[tuple[str, int], float]: ...

    @property
    def charger_tx_ids(self) -> Mapping[int, str]:
        """Of each open OCPP 2.x transaction, the charger's own (text) transactionId."""
        ...


class ChargerVersion(Protocol):
    """The OCPP version a charger is connected with, or last was ("1.6", "2.0.1", "2.1"):
    `voltyard.ocpp.registry.Registry.version_of`. Power sits below the protocol layer, so the version comes
    in through this port; `voltyard.power.profiles.shapes_for` picks that version's payloads."""

    def __call__(self, charger_id: str, /) -> str: ...


class Clock(Protocol):
    """Monotonic seconds for grace periods and back-off; wall-clock epoch seconds for schedules."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


class SystemClock:
    """The real clocks."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()
