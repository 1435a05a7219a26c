"""Domain events: typed records of what happened, appended to the store's event log and published in-process.

The event log is what upstream systems sync from (seed 000's offline operation): each event gets a
sequence number when it is committed. Subscribers (the control API's stream, the power manager) receive
events as they are published, before the commit.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from voltyard.store.writer import StoreWriter

__all__ = ["INSERT_EVENT", "Event", "EventBus"]

log = logging.getLogger(__name__)

INSERT_EVENT = "INSERT INTO events (time, kind, charger_id, data) VALUES (?, ?, ?, ?)"


@dataclass(frozen=True, slots=True)
class Event:
    """One domain event: `kind` names it (e.g. "TransactionStarted"), `data` holds its JSON fields."""

    kind: str
    charger_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def row(self) -> tuple[float, str, str | None, str]:
        return (self.time, self.kind, self.charger_id, orjson.dumps(self.data).decode())


Subscriber = Callable[[Event], None]


class EventBus:
    """Publishes events to in-process subscribers and appends them to the store's event log."""

    def __init__(self, store: StoreWriter, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` for every event from now on; returns the function that unsubscribes."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: Event, conn: sqlite3.Connection | None = None) -> None:
        """Record `event`: inside `conn`'s transaction when given (writer thread), else as telemetry.

        Subscribers hear of it on the event loop either way.
        """
        if conn is not None:
            conn.execute(INSERT_EVENT, event.row())
            self._loop.call_soon_threadsafe(self.notify, event)
            return
        self._store.append(INSERT_EVENT, event.row())
        self.notify(event)

    def notify(self, event: Event) -> None:
        """Deliver `event` to subscribers only (used once a durable write recorded it)."""
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber failed on %s", event.kind)
