"""The control API's read queries: what its views show of transactions, configuration and local lists.

Each runs on a read-only connection of the caller's (WAL lets reads run beside the writer) and returns plain
rows; the API shapes them (`voltyard.api.views`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from voltyard.store.connection import Connection
from voltyard.store.meter_log import last_energy_wh

__all__ = [
    "StopRecordRow",
    "TransactionRow",
    "active_transactions",
    "charger_configuration",
    "local_list",
    "stop_records",
    "transaction",
    "transactions_page",
]

_TRANSACTION_COLUMNS = (
    "id, charger_id, connector_id, id_tag, meter_start, start_time, meter_stop, stop_time, stop_reason, "
    "stop_flag, CASE WHEN stopped_at IS NULL THEN 1 ELSE 0 END, clock_skew, charger_tx_id"
)


class TransactionRow(NamedTuple):
    """A transaction as stored; `energy_now_wh` is the latest energy reading of one without a meter_stop
    (what its meter reads now), None otherwise or when it has none."""

    id: int
    charger_id: str
    connector_id: int
    id_tag: str
    meter_start: int
    start_time: str
    meter_stop: int | None
    stop_time: str | None
    stop_reason: str | None
    stop_flag: str | None
    active: int
    clock_skew: int
    # An OCPP 2.x transaction's own string transactionId (None for 1.6, whose charger takes our integer id).
    charger_transaction_id: str | None
    energy_now_wh: float | None


class StopRecordRow(NamedTuple):
    """One StopTransaction received for a transaction (replays included), with how it was taken."""

    meter_stop: int
    timestamp: str
    reason: str | None
    flag: str
    received_at: float


def _transactions(conn: Connection, rows: list[Any]) -> list[TransactionRow]:
    # An active one has delivered what its meter reads now: its latest reading is read with it.
    return [
        TransactionRow._make((*row, last_energy_wh(conn, row[1], row[0]) if row[6] is None else None))
        for row in rows
    ]


def transactions_page(
    conn: Connection,
    *,
    active: bool | None,
    charger_id: str | None,
    id_tag: str | None,
    since: float | None,
    until: float | None,
    limit: int,
    offset: int,
) -> tuple[int, list[TransactionRow]]:
    """(how many match, one page of them newest first): the filters given (None: any), on `started_at` for
    `since`/`until` (inclusive)."""
    clauses: list[str] = ["1 = 1"]
    params: list[object] = []
    if active is not None:
        clauses.append("stopped_at IS NULL" if active else "stopped_at IS NOT NULL")
    for column, value in (("charger_id", charger_id), ("id_tag", id_tag)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    for op, bound in ((">=", since), ("<=", until)):
        if bound is not None:
            clauses.append(f"started_at {op} ?")
            params.append(bound)
    where = " AND ".join(clauses)
    (total,) = conn.execute(f"SELECT count(*) FROM transactions WHERE {where}", params).fetchone()
    rows = conn.execute(
        f"SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return int(total), _transactions(conn, rows)


def transaction(conn: Connection, transaction_id: int) -> TransactionRow | None:
    rows = conn.execute(
        f"SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE id = ?", (transaction_id,)
    ).fetchall()
    found = _transactions(conn, rows)
    return found[0] if found else None


def active_transactions(conn: Connection, charger_id: str) -> list[TransactionRow]:
    """A charger's transactions not stopped, oldest first."""
    rows = conn.execute(
        f"SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE charger_id = ? AND stopped_at IS NULL "
        "ORDER BY id",
        (charger_id,),
    ).fetchall()
    return _transactions(conn, rows)


def stop_records(conn: Connection, transaction_id: int) -> list[StopRecordRow]:
    """Every stop received for a transaction, in the order received."""
    return [
        StopRecordRow(*row)
        for row in conn.execute(
            "SELECT meter_stop, timestamp, reason, flag, received_at FROM stop_records "
            "WHERE transaction_id = ? ORDER BY id",
            (transaction_id,),
        )
    ]


def charger_configuration(conn: Connection, charger_id: str) -> list[tuple[str, str | None, bool]]:
    """(key, value, readonly) of the configuration the charger last reported, by key."""
    return [
        (key, value, bool(readonly))
        for key, value, readonly in conn.execute(
            "SELECT key, value, readonly FROM configuration WHERE charger_id = ? ORDER BY key", (charger_id,)
        )
    ]


def local_list(conn: Connection, charger_id: str) -> list[tuple[str, str, str | None, str | None]]:
    """(id_tag, status, expiry_date, parent_id_tag) of the charger's local list as it accepted it, by tag."""
    return list(
        conn.execute(
            "SELECT id_tag, status, expiry_date, parent_id_tag FROM local_list WHERE charger_id = ? "
            "ORDER BY id_tag",
            (charger_id,),
        )
    )
