"""Retention of every table that grows: events, status history, meter readings (and 2.x TransactionEvents),
stop records, certificate requests and (when asked) finished transactions with what names them.

The message log prunes itself (voltyard.store.message_log); this prunes the rest, by age and by rows,
through the writer like any durable write. Limits come from `[store]` in voltyard.toml; 0 rows or 0 days
turns that limit off. Ages are compared as instants, never as text: every table is pruned by a time the
store stamped itself as unix seconds (`received_at`, `time`, `stopped_at`, a meter block's `stored_at`),
not by a charger's ISO timestamps, which sort wrongly as strings once offsets differ (issue 17).

Events are pruned regardless of the upstream sync cursors (`sync_cursors`): a consumer that stopped
syncing must not make the store grow without bound. A consumer further behind than the limits finds a
gap in the sequence numbers, which tells it events were dropped.

Meter readings of a transaction still open are never pruned (its energy is read from them); others go
once stored longer ago than `meter_values_max_age_days`. A finished transaction keeps its meter start and
stop in `transactions`, which is pruned only with `transactions_max_age_days` (off by default: billing
records); a pruned transaction's TransactionEvents and its uplink id map go with it (a map row only once
nothing queued for the central system names it). A 2.x charger's device model is one row per attribute it
reported, and the uplink's queue empties with the central system's answers: neither is pruned here. Stop
records (every StopTransaction received, replays and unknown ids included: a charger can send them without
end) and certificate requests are bounded by age and rows.

Each pass deletes at most `_CHUNK` rows per table, so that a first pass over a large store does not hold
the writer (and every durable write behind it) for seconds; the next pass, a minute later, goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from voltyard.config import StoreConfig
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = ["Retention", "prune_tables"]

_CHUNK = 50_000
_DAY = 86400.0
# Rows of no transaction or of one that has ended (an open transaction's energy is read from its readings).
_NOT_OPEN = (
    "(transaction_id IS NULL OR transaction_id NOT IN (SELECT id FROM transactions WHERE stopped_at IS NULL))"
)

_TRANSACTION_IDS = "SELECT id FROM transactions"
# A TransactionEvent's key: its primary key (never SQLite's rowid, which PostgreSQL has not).
_EVENT_KEY = "(charger_id, charger_tx_id, seq_no)"
_QUEUED_IDS = "SELECT transaction_id FROM uplink_queue WHERE transaction_id IS NOT NULL"


@dataclass(frozen=True, slots=True)
class Retention:
    """Prunes the growing tables of one store; see the module docstring."""

    store: StoreWriter
    config: StoreConfig

    async def prune(self) -> dict[str, int]:
        """One pass: rows deleted per table (tables with none deleted are left out)."""
        config, now = self.config, time.time()
        return await self.store.durable(lambda conn: prune_tables(conn, config, now))


def prune_tables(conn: Connection, config: StoreConfig, now: float) -> dict[str, int]:
    """Delete what is past the limits of `config` at time `now` (unix seconds); rows deleted per table."""
    deleted = {
        "events": _by_age_and_rows(
            conn, ("events", "seq", "time"), now, config.events_max_age_days, config.events_max_rows
        ),
        "status_history": _by_age_and_rows(
            conn,
            ("status_history", "id", "received_at"),
            now,
            config.status_history_max_age_days,
            config.status_history_max_rows,
        ),
        "stop_records": _by_age_and_rows(
            conn,
            ("stop_records", "id", "received_at"),
            now,
            config.stop_records_max_age_days,
            config.stop_records_max_rows,
        ),
        "certificate_requests": _by_age_and_rows(
            conn,
            ("certificate_requests", "id", "received_at"),
            now,
            config.certificate_requests_max_age_days,
            config.certificate_requests_max_rows,
        ),
        "meter_values": 0,
        "meter_blocks": 0,
        "transaction_events": 0,
        "transactions": 0,
        "uplink_transactions": 0,
    }
    if config.meter_values_max_age_days > 0:
        cutoff = now - config.meter_values_max_age_days * _DAY
        deleted["meter_values"] = _delete(
            conn, "meter_values", "id", f"received_at < ? AND {_NOT_OPEN}", (cutoff,)
        )
        deleted["meter_blocks"] = _delete(
            conn, "meter_blocks", "id", f"stored_at < ? AND {_NOT_OPEN}", (cutoff,)
        )
        # A 2.x charger's TransactionEvents carry its readings (Updated every meter interval): they age as
        # readings do. Their (charger, transactionId, seqNo) key only matters while a replay may come.
        deleted["transaction_events"] = _delete(
            conn, "transaction_events", _EVENT_KEY, f"received_at < ? AND {_NOT_OPEN}", (cutoff,)
        )
    if config.transactions_max_age_days > 0:
        cutoff = now - config.transactions_max_age_days * _DAY
        deleted["transactions"] = _delete(
            conn, "transactions", "id", "stopped_at IS NOT NULL AND stopped_at < ?", (cutoff,)
        )
        deleted["transaction_events"] += _delete(
            conn, "transaction_events", _EVENT_KEY, f"transaction_id NOT IN ({_TRANSACTION_IDS})", ()
        )
        # The uplink's map of a transaction pruned here, once nothing queued names it.
        deleted["uplink_transactions"] = _delete(
            conn,
            "uplink_transactions",
            "transaction_id",
            f"transaction_id NOT IN ({_TRANSACTION_IDS}) AND transaction_id NOT IN ({_QUEUED_IDS})",
            (),
        )
    return {table: count for table, count in deleted.items() if count}


def _by_age_and_rows(
    conn: Connection, names: tuple[str, str, str], now: float, days: float, rows: int
) -> int:
    table, key, time_column = names
    deleted = 0
    if days > 0:
        deleted += _delete(conn, table, key, f"{time_column} < ?", (now - days * _DAY,))
    if rows > 0:
        # Keys grow with time, so the newest `rows` keys are the rows to keep; rows already deleted in the
        # middle only make the table smaller than the limit.
        newest = conn.execute(f"SELECT MAX({key}) FROM {table}").fetchone()[0]
        if newest is not None:
            deleted += _delete(conn, table, key, f"{key} <= ?", (newest - rows,))
    return deleted


def _delete(conn: Connection, table: str, key: str, where: str, params: tuple[object, ...]) -> int:
    columns = key.strip("()")  # a composite key is compared as a row value, and listed bare in the SELECT
    sql = (
        f"DELETE FROM {table} WHERE {key} IN "
        f"(SELECT {columns} FROM {table} WHERE {where} ORDER BY {columns} LIMIT ?)"
    )
    return int(conn.execute(sql, (*params, _CHUNK)).rowcount)
