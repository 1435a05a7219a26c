"""Domain events: typed records of what happened, appended to the store's event log and published in-process.

The event log is what upstream systems sync from (seed 000's offline operation): each event gets a
sequence number when it is committed. Subscribers (the control API's stream, the power manager) receive
telemetry events as they are published, before their commit, and the events a durable change writes with
it (a transaction's start, an acknowledgement) once that change is committed. The log's SQL is
`voltyard.store.event_log`'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from voltyard.store import event_log
from voltyard.store.event_log import EventRow
from voltyard.store.writer import StoreWriter

__all__ = [
    "CATEGORIES",
    "CATEGORY_CASE",
    "COMMAND_ORIGIN",
    "KIND_CATEGORIES",
    "Category",
    "Event",
    "EventBus",
    "category_of",
]

log = logging.getLogger(__name__)

Category = Literal["alert", "operator", "charger", "transaction", "power"]
CATEGORIES: tuple[Category, ...] = ("alert", "operator", "charger", "transaction", "power")

# The one table of event categories (docs/api.md "Events"): what an operator must see (alerts, what operators
# did) apart from what the appliance does by itself many times a minute (power bookkeeping). A kind not
# named here is a charger's. CommandSent and CommandAnswered are the category of who sent the command:
# see COMMAND_ORIGIN and ORIGIN_CATEGORIES.
KIND_CATEGORIES: dict[str, Category] = {
    "Alert": "alert",
    "SecurityEvent": "alert",
    "ClockSkew": "alert",
    "AutomaticResponse": "alert",
    "Warning": "alert",
    "SiteLimitChanged": "operator",
    "IdTagChanged": "operator",
    "IdTagsImported": "operator",
    "RegistrationChanged": "operator",
    "SecurityProfileChanged": "operator",
    "TransactionForceClosed": "operator",
    "AlertAcknowledged": "operator",
    "TransactionStarted": "transaction",
    "TransactionStopped": "transaction",
    "TransactionStopFlagged": "transaction",
    "TransactionReconciled": "transaction",
    "MeterValues": "transaction",
    "SitePlan": "power",
    "PlanComputed": "power",
}
COMMAND_KINDS = frozenset({"CommandSent", "CommandAnswered"})
# Who sends a command, by the `origin` its CommandSent/CommandAnswered carry; an origin not named here is an
# operator's (the control API).
ORIGIN_CATEGORIES: dict[str, Category] = {"power": "power", "health": "charger"}
DEFAULT_CATEGORY: Category = "charger"

# Who is sending commands in the current task: the power manager and the health checks set theirs, so the
# commands they send are told apart from an operator's without threading a parameter through every call.
COMMAND_ORIGIN: ContextVar[str] = ContextVar("command_origin", default="operator")


def category_of(kind: str, data: dict[str, Any]) -> Category:
    """The category of an event (KIND_CATEGORIES)."""
    if kind in COMMAND_KINDS:
        return ORIGIN_CATEGORIES.get(str(data.get("origin", "operator")), "operator")
    return KIND_CATEGORIES.get(kind, DEFAULT_CATEGORY)


# The category table as the SQL expression the event log's queries filter with.
CATEGORY_CASE = event_log.category_case(
    CATEGORIES, KIND_CATEGORIES, COMMAND_KINDS, ORIGIN_CATEGORIES, DEFAULT_CATEGORY
)


@dataclass(frozen=True, slots=True)
class Event:
    """One domain event: `kind` names it (e.g. "TransactionStarted"), `data` holds its JSON fields."""

    kind: str
    charger_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def row(self) -> EventRow:
        return (self.time, self.kind, self.charger_id, orjson.dumps(self.data).decode())


Subscriber = Callable[[Event], None]


class EventBus:
    """Publishes events to in-process subscribers and appends them to the store's event log."""

    def __init__(self, store: StoreWriter, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop
        self._subscribers: list[Subscriber] = []
        # Set while some subscriber wants the per-frame MessageIn/MessageOut events: the gateway only builds
        # them then, so the hot path pays one attribute read otherwise.
        self.tap_messages = False
        # Set while a stream client listens: live-only telemetry events (MeterValues) are built only then.
        self.want_live = False

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` for every event from now on; returns the function that unsubscribes."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def live(self, event: Event) -> None:
        """Deliver a live-only event (not recorded in the event log): per-frame and telemetry streams."""
        self.notify(event)

    def publish(self, event: Event) -> None:
        """Record `event` as telemetry and tell the subscribers.

        An event that must be committed with the change it tells of is written by that change's store
        function (`voltyard.store`); its caller hands it to `notify` once the commit is on disk.
        """
        event_log.append(self._store, event.row())
        self.notify(event)

    def notify(self, event: Event) -> None:
        """Deliver `event` to subscribers only (used once a durable write recorded it)."""
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber failed on %s", event.kind)
