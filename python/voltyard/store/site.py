"""The site's settings row: the grid limit (kW), kept in `settings` under `site_limit_kw`."""

from __future__ import annotations

from voltyard.store.connection import Connection

__all__ = ["load_limit_kw", "save_limit_kw"]


def load_limit_kw(conn: Connection) -> float | None:
    """The stored site limit, None when none was ever set."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'site_limit_kw'").fetchone()
    return None if row is None else float(row[0])


def save_limit_kw(conn: Connection, limit_kw: float) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('site_limit_kw', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(limit_kw),),
    )
