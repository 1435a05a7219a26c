"""Charger credentials as stored: the security profile, the password hash and the password's keyed hash of
each charger (`chargers`), and the appliance's key for those keyed hashes (`appliance_secrets`)."""

from __future__ import annotations

from voltyard.store.connection import Connection

__all__ = ["load_credentials", "load_mac_key", "save_credentials", "save_password_mac"]


def load_credentials(conn: Connection) -> list[tuple[str, int, str | None, bytes | None]]:
    """(charger id, security profile, password hash or None, password keyed hash or None) of every charger."""
    return list(conn.execute("SELECT id, security_profile, password_hash, password_mac FROM chargers"))


def load_mac_key(conn: Connection) -> bytes | None:
    """The appliance's key of the passwords' keyed hashes (made by migration 6)."""
    row = conn.execute("SELECT value FROM appliance_secrets WHERE name = 'password_mac_key'").fetchone()
    return None if row is None else bytes(row[0])


def save_credentials(
    conn: Connection,
    charger_id: str,
    *,
    profile: int,
    password_hash: str | None,
    password_mac: bytes | None,
    now: float,
) -> None:
    """Set a charger's profile, password hash and keyed hash (a charger not yet seen is recorded, first seen
    `now`)."""
    conn.execute(
        "INSERT INTO chargers (id, first_seen, security_profile, password_hash, password_mac) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET security_profile = excluded.security_profile, "
        "password_hash = excluded.password_hash, password_mac = excluded.password_mac",
        (charger_id, now, profile, password_hash, password_mac),
    )


def save_password_mac(conn: Connection, charger_id: str, password_hash: str, password_mac: bytes) -> None:
    """Remember the keyed hash of a password just verified against `password_hash` (unless it changed)."""
    conn.execute(
        "UPDATE chargers SET password_mac = ? WHERE id = ? AND password_hash = ?",
        (password_mac, charger_id, password_hash),
    )
