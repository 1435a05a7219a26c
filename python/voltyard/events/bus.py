"""The event bus: publishes the typed events (`voltyard.events.kinds`) to in-process subscribers and
appends them to the store's event log.

The event log is what upstream systems sync from (seed 000's offline operation): each event gets a
sequence number when it is committed. Subscribers (the control API's stream, the power manager) receive
telemetry events as they are published, before their commit, and the events a durable change writes with
it (a transaction's start, an acknowledgement) once that change is committed. The log's SQL is
`voltyard.store.event_log`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from voltyard.events.kinds import (
    CATEGORIES,
    COMMAND_KINDS,
    DEFAULT_CATEGORY,
    KIND_CATEGORIES,
    ORIGIN_CATEGORIES,
    Event,
)
from voltyard.store import event_log
from voltyard.store.writer import StoreWriter

__all__ = ["CATEGORY_CASE", "EventBus", "Subscriber"]

log = logging.getLogger(__name__)

# The category table as the SQL expression the event log's queries filter with.
CATEGORY_CASE = event_log.category_case(
    CATEGORIES, KIND_CATEGORIES, COMMAND_KINDS, ORIGIN_CATEGORIES, DEFAULT_CATEGORY
)


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
