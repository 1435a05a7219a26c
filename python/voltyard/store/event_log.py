"""The event log: every recorded domain event, numbered (`seq`) as it is committed, and the sync cursors of
the upstream consumers that read it (seed 000's offline operation).

The event classes are `voltyard.events.kinds`' (a store function that writes an event with its change
builds it), the bus is `voltyard.events.bus`'; the category of an event is its table
(`events.KIND_CATEGORIES`), which `category_case` turns into the SQL expression the queries filter with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson

from voltyard.events.kinds import AlertAcknowledged, Event, EventRow
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

E = TypeVar("E", bound=Event)

__all__ = [
    "INSERT_EVENT",
    "AlertState",
    "CategoryCase",
    "EventRow",
    "LoggedEvent",
    "acknowledge_alert",
    "alert",
    "alerts",
    "append",
    "category_case",
    "events_after",
    "events_latest",
    "insert",
    "last_seq",
    "mark_synced",
    "record",
    "sync_cursor",
]

INSERT_EVENT = "INSERT INTO events (time, kind, charger_id, data) VALUES (?, ?, ?, ?)"


@dataclass(frozen=True, slots=True)
class CategoryCase:
    """The category table of the events as an SQL expression over an `events` row (see `category_case`)."""

    sql: str

    def where(self, categories: Iterable[str]) -> tuple[str, list[str]]:
        """A WHERE clause (and its parameters) keeping the events of `categories` (all of them when empty)."""
        wanted = sorted(set(categories))
        if not wanted:
            return "1 = 1", []
        return f"{self.sql} IN ({', '.join('?' for _ in wanted)})", wanted


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in sorted(values))


def category_case(
    categories: Iterable[str],
    kind_categories: Mapping[str, str],
    command_kinds: Iterable[str],
    origin_categories: Mapping[str, str],
    default: str,
) -> CategoryCase:
    """The category table (`events.KIND_CATEGORIES` and the command origins) as one SQL expression: the
    same table, for filtering in the query."""
    origins = " ".join(
        f"WHEN '{origin}' THEN '{category}'" for origin, category in sorted(origin_categories.items())
    )
    by_category = {
        category: _sql_list(kind for kind, of in kind_categories.items() if of == category)
        for category in categories
        if category in kind_categories.values()
    }
    kinds = " ".join(f"WHEN kind IN ({listed}) THEN '{category}'" for category, listed in by_category.items())
    return CategoryCase(
        f"(CASE WHEN kind IN ({_sql_list(command_kinds)}) THEN "
        f"(CASE json_extract(data, '$.origin') {origins} ELSE 'operator' END) "
        f"{kinds} ELSE '{default}' END)"
    )


def insert(conn: Connection, row: EventRow) -> None:
    """Record an event inside `conn`'s transaction (writer thread): committed with the change it tells of."""
    conn.execute(INSERT_EVENT, row)


def record(conn: Connection, event: E) -> E:
    """`insert` `event` inside `conn`'s transaction; returns it for the caller to tell the subscribers of
    once the commit is on disk (`EventBus.notify`, on the event loop)."""
    insert(conn, event.row())
    return event


def append(store: StoreWriter, row: EventRow) -> None:
    """Record an event as telemetry (committed within the writer's commit interval)."""
    store.append(INSERT_EVENT, row)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as the store committed it, with its sequence number."""

    seq: int
    time: float
    kind: str
    charger_id: str | None
    data: dict[str, Any]


def _logged(rows: Iterable[tuple[int, float, str, str | None, str]]) -> list[LoggedEvent]:
    return [LoggedEvent(seq, at, kind, charger, orjson.loads(data)) for seq, at, kind, charger, data in rows]


def events_after(
    conn: Connection,
    case: CategoryCase,
    cursor: int,
    limit: int = 500,
    categories: Iterable[str] = (),
) -> list[LoggedEvent]:
    """Committed events (of `categories`, when given) with a sequence number above `cursor`, oldest first
    (seed 000's offline sync)."""
    where, params = case.where(categories)
    return _logged(
        conn.execute(
            f"SELECT seq, time, kind, charger_id, data FROM events WHERE seq > ? AND {where} "
            "ORDER BY seq LIMIT ?",
            (cursor, *params, limit),
        )
    )


def events_latest(
    conn: Connection,
    case: CategoryCase,
    count: int,
    categories: Iterable[str] = (),
    upto: int = 2**62,
) -> list[LoggedEvent]:
    """The newest `count` committed events (of `categories`, when given; up to `upto`), oldest first: a
    console's backlog is recent history, whatever the length of the log."""
    where, params = case.where(categories)
    rows = conn.execute(
        f"SELECT seq, time, kind, charger_id, data FROM events WHERE seq <= ? AND {where} "
        "ORDER BY seq DESC LIMIT ?",
        (upto, *params, count),
    ).fetchall()
    rows.reverse()
    return _logged(rows)


def last_seq(conn: Connection) -> int:
    """The newest sequence number given (0 for an empty log)."""
    row = conn.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0] or 0)


def mark_synced(conn: Connection, consumer: str, seq: int) -> int:
    """Record that `consumer` has everything up to `seq`; never moves a cursor back. Returns the cursor."""
    conn.execute(
        "INSERT INTO sync_cursors (name, seq) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET seq = CASE WHEN excluded.seq > sync_cursors.seq THEN excluded.seq "
        "ELSE sync_cursors.seq END",
        (consumer, seq),
    )
    return int(conn.execute("SELECT seq FROM sync_cursors WHERE name = ?", (consumer,)).fetchone()[0])


def sync_cursor(conn: Connection, consumer: str) -> int:
    """Where `consumer` stands (0 before its first sync)."""
    row = conn.execute("SELECT seq FROM sync_cursors WHERE name = ?", (consumer,)).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert-category event and its acknowledgement (an AlertAcknowledged event naming its seq)."""

    event: LoggedEvent
    acknowledged_by: str | None
    acknowledged_at: float | None


def _acknowledgements(conn: Connection, since: int) -> dict[int, tuple[str, float]]:
    """{alert seq: (operator, time)} of the acknowledgements recorded after `since`: few (people make them),
    and never before the alert they name."""
    found: dict[int, tuple[str, float]] = {}
    for at, data in conn.execute(
        "SELECT time, data FROM events WHERE seq > ? AND kind = 'AlertAcknowledged'", (since,)
    ):
        fields = orjson.loads(data)
        # Rows written before payload keys were camelCase (events.kinds) name the alert `alert_seq`.
        alert_seq = fields["alertSeq"] if "alertSeq" in fields else fields["alert_seq"]
        found.setdefault(int(alert_seq), (str(fields.get("operator")), float(at)))
    return found


def alerts(
    conn: Connection, case: CategoryCase, state: Literal["open", "acknowledged", "all"], limit: int
) -> list[AlertState]:
    """Alerts, newest first: open ones (not acknowledged), acknowledged ones, or all."""
    where, params = case.where(["alert"])
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


def alert(conn: Connection, case: CategoryCase, seq: int) -> AlertState | None:
    """One alert by its seq (None when no alert has it)."""
    where, params = case.where(["alert"])
    row = conn.execute(
        f"SELECT seq, time, kind, charger_id, data FROM events WHERE seq = ? AND {where}", (seq, *params)
    ).fetchone()
    if row is None:
        return None
    ack = _acknowledgements(conn, seq).get(seq)
    event = LoggedEvent(row[0], row[1], row[2], row[3], orjson.loads(row[4]))
    return AlertState(event, ack[0] if ack else None, ack[1] if ack else None)


def acknowledge_alert(
    conn: Connection, case: CategoryCase, seq: int, operator: str | None, at: float
) -> tuple[AlertState, AlertAcknowledged] | Literal["missing", "acknowledged"]:
    """Record `operator`'s acknowledgement of alert `seq` (writer thread): the check and the record are one
    step, so of two operators acknowledging at once one gets "acknowledged". Writes the AlertAcknowledged
    event (the alert's charger); the caller tells the subscribers once committed.
    """
    found = alert(conn, case, seq)
    if found is None:
        return "missing"
    if found.acknowledged_by is not None:
        return "acknowledged"
    recorded = record(conn, AlertAcknowledged(found.event.charger_id, seq, operator, time=at))
    return AlertState(found.event, operator, at), recorded
