"""The `reservations` table: the ReserveNow requests sent and how the chargers answered them."""

from __future__ import annotations

from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = ["ReservationRow", "append_cancelled", "record"]

# id, charger id, connector id, idTag, parentIdTag, expiryDate, status (the charger's answer), updated_at.
ReservationRow = tuple[int, str, int, str, str | None, str, str, float]

_RECORD = """
INSERT INTO reservations (id, charger_id, connector_id, id_tag, parent_id_tag, expiry_date, status,
                          updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET charger_id = excluded.charger_id, connector_id = excluded.connector_id,
    id_tag = excluded.id_tag, parent_id_tag = excluded.parent_id_tag, expiry_date = excluded.expiry_date,
    status = excluded.status, updated_at = excluded.updated_at
"""
_CANCEL = "UPDATE reservations SET status = 'Cancelled', updated_at = ? WHERE id = ? AND charger_id = ?"


def record(conn: Connection, row: ReservationRow) -> None:
    """A ReserveNow and its answer (durably: the reservation id may be named by a later StartTransaction)."""
    conn.execute(_RECORD, row)


def append_cancelled(store: StoreWriter, charger_id: str, reservation_id: int, at: float) -> None:
    """An accepted CancelReservation."""
    store.append(_CANCEL, (at, reservation_id, charger_id))
