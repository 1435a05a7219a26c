"""The uplink's tables (migration 0009): the queue of messages for the operator's central system, the map of
local to upstream transaction ids, and the last sync per charge point.

Every function takes the connection it runs on: the writing ones are run on the writer thread through
`StoreWriter.durable` (a queued message is on disk before the uplink says it is queued), the reading ones on
any connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from voltyard.store.connection import Connection

__all__ = [
    "Queued",
    "TransactionLink",
    "delivered",
    "enqueue",
    "head",
    "last_syncs",
    "link_transaction",
    "linked_transactions",
    "queue_lengths",
    "queue_page",
    "set_meter_cursor",
    "set_upstream_id",
    "unqueued_transactions",
]


@dataclass(frozen=True, slots=True)
class Queued:
    """One message waiting for the central system: its payload names the local transaction id, if any."""

    seq: int
    charger_id: str
    action: str
    payload: dict[str, Any]
    transaction_id: int | None


@dataclass(frozen=True, slots=True)
class TransactionLink:
    """A local transaction that goes upstream: the central system's id once it answered its start."""

    transaction_id: int
    charger_id: str
    upstream_id: int | None
    meter_cursor: float
    stopped: bool


def enqueue(  # noqa: PLR0917 - the columns of one row, in their order
    conn: Connection,
    charger_id: str,
    action: str,
    payload: dict[str, Any],
    transaction_id: int | None,
    queued_at: float,
) -> int:
    """Append a message to the queue; returns its sequence number."""
    (seq,) = conn.execute(
        "INSERT INTO uplink_queue (charger_id, action, payload, transaction_id, queued_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING seq",
        (charger_id, action, orjson.dumps(payload).decode(), transaction_id, queued_at),
    ).fetchone()
    return int(seq)


def head(conn: Connection, charger_id: str, limit: int = 50) -> list[Queued]:
    """The oldest queued messages of a charge point, in order."""
    return [
        Queued(seq, charger, action, orjson.loads(payload), transaction_id)
        for seq, charger, action, payload, transaction_id in conn.execute(
            "SELECT seq, charger_id, action, payload, transaction_id FROM uplink_queue "
            "WHERE charger_id = ? ORDER BY seq LIMIT ?",
            (charger_id, limit),
        )
    ]


def delivered(conn: Connection, seq: int, charger_id: str, at: float) -> None:
    """The central system answered message `seq`: it leaves the queue, and the charge point synced `at`."""
    conn.execute("DELETE FROM uplink_queue WHERE seq = ?", (seq,))
    conn.execute(
        "INSERT INTO uplink_sync (charger_id, last_sync) VALUES (?, ?) "
        "ON CONFLICT (charger_id) DO UPDATE SET last_sync = excluded.last_sync",
        (charger_id, at),
    )


def queue_page(
    conn: Connection, charger_id: str | None, limit: int, offset: int
) -> tuple[int, list[tuple[Queued, float]]]:
    """The messages waiting (of one charge point, or all), oldest first, with when each was queued, and how
    many wait in all."""
    where, params = ("WHERE charger_id = ?", (charger_id,)) if charger_id is not None else ("", ())
    (total,) = conn.execute(f"SELECT count(*) FROM uplink_queue {where}", params).fetchone()
    rows = conn.execute(
        "SELECT seq, charger_id, action, payload, transaction_id, queued_at FROM uplink_queue "
        f"{where} ORDER BY seq LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    page = [
        (Queued(seq, charger, action, orjson.loads(payload), transaction_id), queued_at)
        for seq, charger, action, payload, transaction_id, queued_at in rows
    ]
    return int(total), page


def queue_lengths(conn: Connection) -> dict[str, int]:
    """Messages waiting, per charge point."""
    return dict(conn.execute("SELECT charger_id, count(*) FROM uplink_queue GROUP BY charger_id").fetchall())


def last_syncs(conn: Connection) -> dict[str, float]:
    """When each charge point's last message was answered upstream."""
    return dict(conn.execute("SELECT charger_id, last_sync FROM uplink_sync").fetchall())


def link_transaction(conn: Connection, transaction_id: int, charger_id: str) -> None:
    """A local transaction goes upstream (its id unknown there until its start is answered)."""
    conn.execute(
        "INSERT INTO uplink_transactions (transaction_id, charger_id) VALUES (?, ?) "
        "ON CONFLICT (transaction_id) DO NOTHING",
        (transaction_id, charger_id),
    )


def set_upstream_id(conn: Connection, transaction_id: int, upstream_id: int) -> None:
    conn.execute(
        "UPDATE uplink_transactions SET upstream_id = ? WHERE transaction_id = ?",
        (upstream_id, transaction_id),
    )


def set_meter_cursor(conn: Connection, transaction_id: int, cursor: float, stopped: bool) -> None:
    """The readings up to `cursor` (received_at) are queued; a stopped transaction gets no more."""
    conn.execute(
        "UPDATE uplink_transactions SET meter_cursor = ?, stopped = ? WHERE transaction_id = ?",
        (cursor, int(stopped), transaction_id),
    )


def linked_transactions(conn: Connection) -> list[TransactionLink]:
    """Every local transaction that goes upstream, oldest first."""
    return [
        TransactionLink(transaction_id, charger_id, upstream_id, cursor, bool(stopped))
        for transaction_id, charger_id, upstream_id, cursor, stopped in conn.execute(
            "SELECT transaction_id, charger_id, upstream_id, meter_cursor, stopped FROM uplink_transactions "
            "ORDER BY transaction_id"
        )
    ]


def unqueued_transactions(conn: Connection) -> list[int]:
    """Local transactions since the uplink first started that were never queued (the appliance ended between
    a transaction's commit and its queueing), oldest first. The first call sets the mark: the transactions
    before it are history the central system never asked for."""
    # `WHERE 1 = 1`: SQLite reads an ON CONFLICT right after a SELECT's FROM as a join's, without it.
    conn.execute(
        "INSERT INTO uplink_watermark (id, transaction_id) "
        "SELECT 1, coalesce(max(id), 0) FROM transactions WHERE 1 = 1 ON CONFLICT (id) DO NOTHING"
    )
    return [transaction_id for (transaction_id,) in conn.execute(_UNQUEUED)]


_UNQUEUED = """
SELECT id FROM transactions
WHERE id > (SELECT transaction_id FROM uplink_watermark WHERE id = 1)
  AND id NOT IN (SELECT transaction_id FROM uplink_transactions)
ORDER BY id
"""
