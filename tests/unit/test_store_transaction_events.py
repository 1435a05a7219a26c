"""OCPP 2.x TransactionEvents in the one transactions table: once per (charger, transactionId, seqNo), the
transaction opened by its first event and closed once by its Ended, whatever order they come in."""

from __future__ import annotations

import pytest
from voltyard.store import transaction_events as tx_events
from voltyard.store import transactions as tx_store
from voltyard.store.connection import Connection

NOW = "2026-11-25T10:00:00Z"
LATER = "2026-11-25T11:00:00Z"


@pytest.fixture
def db(store_db: Connection) -> Connection:
    """A migrated store of each backend (tests/conftest.py `store_db`)."""
    return store_db


def _event(
    seq_no: int, event_type: str, *, tx: str = "TX-1", energy: float | None = None, charger: str = "CP-2"
) -> tx_events.EventRow:
    meters = [] if energy is None else [(charger, None, None, NOW, "[]", energy, None, 1.0, False)]
    return tx_events.EventRow(
        charger, tx, seq_no, event_type, "Authorized", False, LATER if event_type == "Ended" else NOW, 1,
        "TAG", "EVDeparted" if event_type == "Ended" else None, energy, "{}", 1.0, False, meters,
    )  # fmt: skip


def _record(db: Connection, row: tx_events.EventRow) -> tx_events.EventOutcome:
    # One transaction, as the writer runs it.
    db.execute("BEGIN")
    try:
        outcome = tx_events.record_event(db, row)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return outcome


def _rows(db: Connection) -> list[tuple[object, ...]]:
    return list(
        db.execute(
            "SELECT charger_id, charger_tx_id, meter_start, meter_stop, stop_reason, stopped_at IS NOT NULL "
            "FROM transactions ORDER BY id"
        )
    )


def test_started_updated_ended_make_one_transaction(db: Connection) -> None:
    started = _record(db, _event(0, "Started", energy=1000.0))
    assert started.still_open
    assert not started.duplicate
    updated = _record(db, _event(1, "Updated", energy=1500.0))
    assert updated.transaction_id == started.transaction_id
    ended = _record(db, _event(2, "Ended", energy=2500.0))
    assert not ended.still_open
    assert _rows(db) == [("CP-2", "TX-1", 1000, 2500, "EVDeparted", 1)]
    assert db.execute("SELECT count(*) FROM transaction_events").fetchone() == (3,)
    energies = [row[0] for row in db.execute("SELECT energy_wh FROM meter_values ORDER BY id")]
    assert energies == [1000.0, 1500.0, 2500.0]
    kinds = [row[0] for row in db.execute("SELECT kind FROM events ORDER BY seq")]
    assert kinds == ["TransactionStarted", "TransactionStopped"]


def test_a_replayed_seq_no_is_answered_but_stored_once(db: Connection) -> None:
    first = _record(db, _event(0, "Started", energy=1000.0))
    again = _record(db, _event(0, "Started", energy=1000.0))
    assert again.duplicate
    assert again.transaction_id == first.transaction_id
    assert again.recorded == ()
    _record(db, _event(1, "Ended"))
    assert _record(db, _event(1, "Ended")).duplicate
    assert db.execute("SELECT count(*) FROM transaction_events").fetchone() == (2,)
    assert db.execute("SELECT count(*) FROM meter_values").fetchone() == (1,)
    # No energy in the Ended: the stop reading is the last one stored for the transaction.
    assert _rows(db) == [("CP-2", "TX-1", 1000, 1000, "EVDeparted", 1)]


def test_out_of_order_ended_first_closes_once(db: Connection) -> None:
    ended = _record(db, _event(2, "Ended", energy=2000.0))
    assert not ended.still_open
    late_start = _record(db, _event(0, "Started", energy=500.0))
    assert late_start.transaction_id == ended.transaction_id
    assert not late_start.still_open
    assert len(_rows(db)) == 1


def test_string_ids_sit_beside_16_integer_ids(db: Connection) -> None:
    started = tx_store.start(db, tx_store.StartRow("CP-16", 1, "TAG", NOW, 0, None, clock_skew=False))
    two = _record(db, _event(0, "Started", tx="TX-1"))
    other = _record(db, _event(0, "Started", tx="TX-1", charger="CP-3"))  # ids are per charger
    assert len({started.transaction_id, two.transaction_id, other.transaction_id}) == 3
    assert [row[1] for row in _rows(db)] == [None, "TX-1", "TX-1"]
