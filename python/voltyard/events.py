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
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from voltyard.store.writer import StoreWriter

__all__ = [
    "CATEGORIES",
    "COMMAND_ORIGIN",
    "INSERT_EVENT",
    "KIND_CATEGORIES",
    "AlertState",
    "Category",
    "Event",
    "EventBus",
    "LoggedEvent",
    "alert",
    "alerts",
    "category_of",
    "category_sql",
    "events_after",
    "events_latest",
    "last_seq",
]

log = logging.getLogger(__name__)

INSERT_EVENT = "INSERT INTO events (time, kind, charger_id, data) VALUES (?, ?, ?, ?)"

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


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in sorted(values))


def _category_case() -> str:
    """KIND_CATEGORIES as an SQL expression over an events row: the same table, for filtering in the query."""
    origins = " ".join(
        f"WHEN '{origin}' THEN '{category}'" for origin, category in sorted(ORIGIN_CATEGORIES.items())
    )
    by_category = {
        category: _sql_list(kind for kind, of in KIND_CATEGORIES.items() if of == category)
        for category in CATEGORIES
        if category in KIND_CATEGORIES.values()
    }
    kinds = " ".join(f"WHEN kind IN ({listed}) THEN '{category}'" for category, listed in by_category.items())
    return (
        f"(CASE WHEN kind IN ({_sql_list(COMMAND_KINDS)}) THEN "
        f"(CASE json_extract(data, '$.origin') {origins} ELSE 'operator' END) "
        f"{kinds} ELSE '{DEFAULT_CATEGORY}' END)"
    )


CATEGORY_SQL = _category_case()


def category_sql(categories: Iterable[str]) -> tuple[str, list[str]]:
    """A WHERE clause (and its parameters) keeping the events of `categories` (all of them when empty)."""
    wanted = sorted(set(categories))
    if not wanted:
        return "1", []
    return f"{CATEGORY_SQL} IN ({', '.join('?' for _ in wanted)})", wanted


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

    @property
    def category(self) -> Category:
        return category_of(self.kind, self.data)


def events_after(
    conn: sqlite3.Connection, cursor: int, limit: int = 500, categories: Iterable[str] = ()
) -> list[LoggedEvent]:
    """Committed events (of `categories`, when given) with a sequence number above `cursor`, oldest first
    (seed 000's offline sync)."""
    where, params = category_sql(categories)
    rows = conn.execute(
        f"SELECT seq, time, kind, charger_id, data FROM events WHERE seq > ? AND {where} "
        "ORDER BY seq LIMIT ?",
        (cursor, *params, limit),
    )
    return [LoggedEvent(seq, at, kind, charger, orjson.loads(data)) for seq, at, kind, charger, data in rows]


def events_latest(
    conn: sqlite3.Connection, count: int, categories: Iterable[str] = (), upto: int = 2**62
) -> list[LoggedEvent]:
    """The newest `count` committed events (of `categories`, when given; up to `upto`), oldest first: a
    console's backlog is recent history, whatever the length of the log."""
    where, params = category_sql(categories)
    rows = conn.execute(
        f"SELECT seq, time, kind, charger_id, data FROM events WHERE seq <= ? AND {where} "
        "ORDER BY seq DESC LIMIT ?",
        (upto, *params, count),
    ).fetchall()
    rows.reverse()
    return [LoggedEvent(seq, at, kind, charger, orjson.loads(data)) for seq, at, kind, charger, data in rows]


def last_seq(conn: sqlite3.Connection) -> int:
    """The newest sequence number given (0 for an empty log)."""
    row = conn.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0] or 0)


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


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert-category event and its acknowledgement (an AlertAcknowledged event naming its seq)."""

    event: LoggedEvent
    acknowledged_by: str | None
    acknowledged_at: float | None


def _acknowledgements(conn: sqlite3.Connection, since: int) -> dict[int, tuple[str, float]]:
    """{alert seq: (operator, time)} of the acknowledgements recorded after `since`: few (people make them),
    and never before the alert they name."""
    found: dict[int, tuple[str, float]] = {}
    for at, data in conn.execute(
        "SELECT time, data FROM events WHERE seq > ? AND kind = 'AlertAcknowledged'", (since,)
    ):
        fields = orjson.loads(data)
        found.setdefault(int(fields["alert_seq"]), (str(fields.get("operator")), float(at)))
    return found


def alerts(
    conn: sqlite3.Connection, state: Literal["open", "acknowledged", "all"], limit: int
) -> list[AlertState]:
    """Alerts, newest first: open ones (not acknowledged), acknowledged ones, or all."""
    where, params = category_sql(["alert"])
    rows = conn.execute(
        f"SELECT seq, time, kind, charger_id, data FROM events WHERE {where} ORDER BY seq DESC", params
    )
    found: list[AlertState] = []
    acks: dict[int, tuple[str, float]] | None = None
    for seq, at, kind, charger, data in rows:
        if acks is None:
            acks = _acknowledgements(conn, 0)
        ack = acks.get(seq)
        if (state == "open" and ack is not None) or (state == "acknowledged" and ack is None):
            continue
        event = LoggedEvent(seq, at, kind, charger, orjson.loads(data))
        found.append(AlertState(event, ack[0] if ack else None, ack[1] if ack else None))
        if len(found) >= limit:
            break
    return found


def alert(conn: sqlite3.Connection, seq: int) -> AlertState | None:
    """One alert by its seq (None when no alert has it)."""
    where, params = category_sql(["alert"])
    row = conn.execute(
        f"SELECT seq, time, kind, charger_id, data FROM events WHERE seq = ? AND {where}", (seq, *params)
    ).fetchone()
    if row is None:
        return None
    ack = _acknowledgements(conn, seq).get(seq)
    event = LoggedEvent(row[0], row[1], row[2], row[3], orjson.loads(row[4]))
    return AlertState(event, ack[0] if ack else None, ack[1] if ack else None)
