"""Charger credentials as stored: the security profile and the password hash of each charger (`chargers`)."""

from __future__ import annotations

import sqlite3

__all__ = ["load_credentials", "save_credentials"]


def load_credentials(conn: sqlite3.Connection) -> list[tuple[str, int, str | None]]:
    """(charger id, security profile, password hash or None) of every known charger."""
    return list(conn.execute("SELECT id, security_profile, password_hash FROM chargers"))


def save_credentials(
    conn: sqlite3.Connection, charger_id: str, profile: int, password_hash: str | None, now: float
) -> None:
    """Set a charger's profile and password hash (a charger not yet seen is recorded, first seen `now`)."""
    conn.execute(
        "INSERT INTO chargers (id, first_seen, security_profile, password_hash) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET security_profile = excluded.security_profile, "
        "password_hash = excluded.password_hash",
        (charger_id, now, profile, password_hash),
    )
