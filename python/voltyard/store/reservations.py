"""The `reservations` table: the ReserveNow requests sent and how the chargers answered them."""

from __future__ import annotations

import sqlite3

from voltyard.store.writer import StoreWriter

__all__ = ["ReservationRow", "append_cancelled", "record"]

# id, charger id, connector id, idTag, parentIdTag, expiryDate, status (the charger's answer), updated_at.
ReservationRow = tuple[int, str, int, str, str | None, str, str, float]

_RECORD = "INSERT OR REPLACE INTO reservations VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_CANCEL = "UPDATE reservations SET status = 'Cancelled', updated_at = ? WHERE id = ? AND charger_id = ?"


def record(conn: sqlite3.Connection, row: ReservationRow) -> None:
    """A ReserveNow and its answer (durably: the reservation id may be named by a later StartTransaction)."""
    conn.execute(_RECORD, row)


def append_cancelled(store: StoreWriter, charger_id: str, reservation_id: int, at: float) -> None:
    """An accepted CancelReservation."""
    store.append(_CANCEL, (at, reservation_id, charger_id))
