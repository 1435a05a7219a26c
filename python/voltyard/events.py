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


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as the store committed it, with its sequence number."""

    seq: int
    time: float
    kind: str
    charger_id: str | None
    data: dict[str, Any]


def events_after(conn: sqlite3.Connection, cursor: int, limit: int = 500) -> list[LoggedEvent]:
    """Committed events with a sequence number above `cursor`, oldest first (seed 000's offline sync)."""
    rows = conn.execute(
        "SELECT seq, time, kind, charger_id, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        (cursor, limit),
    )
    return [LoggedEvent(seq, at, kind, charger, orjson.loads(data)) for seq, at, kind, charger, data in rows]


def mark_synced(conn: sqlite3.Connection, consumer: str, seq: int) -> int:
    """Record that `consumer` has everything up to `seq`; never moves a cursor back. Returns the cursor."""
    conn.execute(
        "INSERT INTO sync_cursors (name, seq) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)",
        (consumer, seq),
    )
    return int(conn.execute("SELECT seq FROM sync_cursors WHERE name = ?", (consumer,)).fetchone()[0])


def sync_cursor(conn: sqlite3.Connection, consumer: str) -> int:
    """Where `consumer` stands (0 before its first sync)."""
    row = conn.execute("SELECT seq FROM sync_cursors WHERE name = ?", (consumer,)).fetchone()
    return int(row[0]) if row else 0
