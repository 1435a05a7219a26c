"""The `configuration` table: what the chargers' configuration keys hold, as their answers told.

Functions over a connection, run on the writer thread (`StoreWriter.durable`, or `append` with
`SET_VALUE`).
"""

from __future__ import annotations

from collections.abc import Iterable

from voltyard.store.connection import Connection

__all__ = ["SET_VALUE", "replace_snapshot", "set_value_params"]

# One key's value after an accepted ChangeConfiguration (a writable key: readonly 0).
SET_VALUE = (
    "INSERT INTO configuration (charger_id, key, value, readonly, updated_at) "
    "VALUES (?, ?, ?, 0, ?) ON CONFLICT (charger_id, key) "
    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)

# A row of the table: charger id, key, value (None: unknown), readonly (0/1), updated_at.
Row = tuple[str, str, str | None, int, float]


def set_value_params(charger_id: str, key: str, value: str, at: float) -> tuple[str, str, str, float]:
    """The parameters of `SET_VALUE`."""
    return (charger_id, key, value, at)


def replace_snapshot(conn: Connection, charger_id: str, rows: Iterable[Row], *, full: bool) -> None:
    """Store a GetConfiguration answer; a `full` read (no keys asked for) replaces the charger's snapshot."""
    if full:
        conn.execute("DELETE FROM configuration WHERE charger_id = ?", (charger_id,))
    conn.executemany(_REPLACE, rows)


_REPLACE = """
INSERT INTO configuration (charger_id, key, value, readonly, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (charger_id, key) DO UPDATE SET value = excluded.value, readonly = excluded.readonly,
    updated_at = excluded.updated_at
"""
