"""Id tags (`id_tags`) and the per-charger local lists a charger accepted (`local_list`, with the list
version on its `chargers` row)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voltyard.store.connection import Connection

__all__ = ["TagRow", "apply_local_list", "delete_tag", "load_tags", "upsert_tags"]

# (id_tag, status, expiry_date, parent_id_tag)
TagRow = tuple[str, str, str | None, str | None]

_UPSERT_TAG = """
INSERT INTO id_tags (id_tag, status, expiry_date, parent_id_tag) VALUES (?, ?, ?, ?)
ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status, expiry_date = excluded.expiry_date,
    parent_id_tag = excluded.parent_id_tag
"""


def load_tags(conn: Connection) -> list[TagRow]:
    return list(conn.execute("SELECT id_tag, status, expiry_date, parent_id_tag FROM id_tags"))


def upsert_tags(conn: Connection, rows: Iterable[TagRow]) -> None:
    """Add or change tags (in the caller's transaction: all of them or, on failure, none)."""
    conn.executemany(_UPSERT_TAG, rows)


def delete_tag(conn: Connection, id_tag: str) -> None:
    conn.execute("DELETE FROM id_tags WHERE id_tag = ?", (id_tag,))


def apply_local_list(conn: Connection, charger_id: str, request: dict[str, Any]) -> None:
    """Record an accepted SendLocalList request (writer thread): its version and entries, Full or
    Differential."""
    if request["updateType"] == "Full":
        conn.execute("DELETE FROM local_list WHERE charger_id = ?", (charger_id,))
    for entry in request.get("localAuthorizationList", []):
        info = entry.get("idTagInfo")
        if info is None:  # Differential update without idTagInfo removes the entry
            conn.execute(
                "DELETE FROM local_list WHERE charger_id = ? AND id_tag = ?", (charger_id, entry["idTag"])
            )
            continue
        conn.execute(
            "INSERT INTO local_list (charger_id, id_tag, status, expiry_date, parent_id_tag) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (charger_id, id_tag) DO UPDATE SET status = excluded.status, "
            "expiry_date = excluded.expiry_date, parent_id_tag = excluded.parent_id_tag",
            (charger_id, entry["idTag"], info["status"], info.get("expiryDate"), info.get("parentIdTag")),
        )
    conn.execute(
        "UPDATE chargers SET local_list_version = ? WHERE id = ?", (request["listVersion"], charger_id)
    )
