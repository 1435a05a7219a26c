"""Retention of the tables that grow with every message: events, status history, meter readings.

The message log prunes itself (voltyard.store.message_log); this prunes the rest, by age and by rows,
through the writer like any durable write. Limits come from `[store]` in voltyard.toml; 0 rows or 0 days
turns that limit off.

Events are pruned regardless of the upstream sync cursors (`sync_cursors`): a consumer that stopped
syncing must not make the store grow without bound. A consumer further behind than the limits finds a
gap in the sequence numbers, which tells it events were dropped.

Meter readings of a transaction still open are never pruned (its energy is read from them); others go
once older than `meter_values_max_age_days`: blocks by their last reading's timestamp as the charger sent
it, rows of older stores by the time they were received. A finished transaction keeps its meter start
and stop in `transactions`, which nothing prunes.

Each pass deletes at most `_CHUNK` rows per table, so that a first pass over a large store does not hold
the writer (and every durable write behind it) for seconds; the next pass, a minute later, goes on.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from voltyard.config import StoreConfig
from voltyard.store.writer import StoreWriter

__all__ = ["Retention", "prune_tables"]

_CHUNK = 50_000
_DAY = 86400.0
# Rows of no transaction or of one that has ended (an open transaction's energy is read from its readings).
_NOT_OPEN = (
    "(transaction_id IS NULL OR transaction_id NOT IN (SELECT id FROM transactions WHERE stop_time IS NULL))"
)


@dataclass(frozen=True, slots=True)
class Retention:
    """Prunes the growing tables of one store; see the module docstring."""

    store: StoreWriter
    config: StoreConfig

    async def prune(self) -> dict[str, int]:
        """One pass: rows deleted per table (tables with none deleted are left out)."""
        config, now = self.config, time.time()
        return await self.store.durable(lambda conn: prune_tables(conn, config, now))


def prune_tables(conn: sqlite3.Connection, config: StoreConfig, now: float) -> dict[str, int]:
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
        "meter_values": 0,
        "meter_blocks": 0,
    }
    if config.meter_values_max_age_days > 0:
        cutoff = now - config.meter_values_max_age_days * _DAY
        deleted["meter_values"] = _delete(
            conn, "meter_values", "id", f"received_at < ? AND {_NOT_OPEN}", (cutoff,)
        )
        iso_cutoff = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(cutoff))
        deleted["meter_blocks"] = _delete(
            conn, "meter_blocks", "id", f"last_timestamp < ? AND {_NOT_OPEN}", (iso_cutoff,)
        )
    return {table: count for table, count in deleted.items() if count}


def _by_age_and_rows(
    conn: sqlite3.Connection, names: tuple[str, str, str], now: float, days: float, rows: int
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


def _delete(conn: sqlite3.Connection, table: str, key: str, where: str, params: tuple[object, ...]) -> int:
    sql = (
        f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where} ORDER BY {key} LIMIT ?)"
    )
    return int(conn.execute(sql, (*params, _CHUNK)).rowcount)
