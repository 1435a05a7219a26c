"""The transactions' SQL (voltyard.store.transactions) against a real SQLite file: ids, replays, stop flags,
reconciliation, and the events each change writes in its own transaction."""

from __future__ import annotations

import pytest
from voltyard.events.kinds import TransactionStopFlagged
from voltyard.store import transactions as tx_store
from voltyard.store.connection import Connection


@pytest.fixture
def db(store_db: Connection) -> Connection:
    """A migrated store of each backend (tests/conftest.py `store_db`)."""
    return store_db


def _start(db: Connection, meter_start: int = 100, skew: bool = False) -> tx_store.Started:
    row = tx_store.StartRow("CP1", 1, "TAG", "2026-01-01T10:00:00Z", meter_start, None, skew)
    return tx_store.start(db, row)


def _stop(db: Connection, transaction_id: int, meter_stop: int = 500, ts: str = "2026-01-01T11:00:00Z"):
    row = tx_store.StopRow("CP1", transaction_id, meter_stop, ts, "Local", "TAG", None, 1.0, False)
    return tx_store.stop(db, row, [])


def _events(db: Connection) -> list[str]:
    return [kind for (kind,) in db.execute("SELECT kind FROM events ORDER BY seq")]


def test_a_replayed_start_gets_the_same_id_and_no_second_event(db: Connection) -> None:
    first = _start(db)
    again = _start(db)
    assert again.transaction_id == first.transaction_id, "a replayed StartTransaction got a new id"
    assert [r.kind for r in first.recorded] == ["TransactionStarted"]
    assert first.recorded[0].data()["transactionId"] == first.transaction_id
    assert again.recorded == (), "a replayed start recorded its event again"
    assert _events(db) == ["TransactionStarted"], "the event log must hold what the start returned"
    assert first.still_open
    assert again.still_open


def test_a_skewed_start_records_clock_skew_with_it(db: Connection) -> None:
    started = _start(db, skew=True)
    assert [r.kind for r in started.recorded] == ["TransactionStarted", "ClockSkew"]
    assert _events(db) == ["TransactionStarted", "ClockSkew"]


def test_stop_flags_stopped_duplicate_already_stopped_unknown(db: Connection) -> None:
    tx = _start(db).transaction_id
    assert _stop(db, tx).flag == "Stopped"
    assert _stop(db, tx).flag == "Duplicate", "the same stop again must be a Duplicate"
    assert _stop(db, tx, 600).flag == "AlreadyStopped", "a different stop of a stopped one"
    unknown = _stop(db, tx + 99)
    assert (unknown.flag, unknown.recorded[0].kind) == ("Unknown", "TransactionStopFlagged")
    stops = db.execute("SELECT flag FROM stop_records ORDER BY id").fetchall()
    assert [flag for (flag,) in stops] == ["Stopped", "Duplicate", "AlreadyStopped", "Unknown"], (
        "every stop, whatever its flag, must leave a stop record"
    )
    (meter_stop,) = db.execute("SELECT meter_stop FROM transactions WHERE id = ?", (tx,)).fetchone()
    assert meter_stop == 500, "a later stop overwrote the first one's meter reading"


def test_reconciled_then_stopped(db: Connection) -> None:
    tx = _start(db).transaction_id
    closed = tx_store.reconcile(db, "CP1", [tx, tx + 5], "ChargerRebooted", "2026-01-01T10:30:00Z")
    assert closed.transaction_ids == (tx,), "only open transactions are reconciled"
    assert closed.recorded[0].data() == {
        "transactionId": tx,
        "reason": "ChargerRebooted",
        "meterStop": 100,
    }, "without a reading, a reconciled transaction ends at its meter_start"
    assert tx_store.reconcile(db, "CP1", [tx], "again", "x").transaction_ids == (), "reconciled twice"
    stopped = _stop(db, tx)
    assert (stopped.flag, stopped.recorded[0].kind) == ("StoppedAfterReconcile", "TransactionStopped")
    (flag,) = db.execute("SELECT stop_flag FROM transactions WHERE id = ?", (tx,)).fetchone()
    assert flag == "ReconciledThenStopped"


def test_force_close_only_closes_an_open_transaction(db: Connection) -> None:
    tx = _start(db).transaction_id
    closed = tx_store.force_close(db, tx, 300, "2026-01-01T12:00:00Z", "ana")
    assert (closed.charger_id, closed.transaction_ids) == ("CP1", (tx,))
    assert closed.recorded[0].data() == {"transactionId": tx, "operator": "ana"}
    assert tx_store.force_close(db, tx, 300, "x", "ana").charger_id is None, "closed a closed transaction"
    assert tx_store.load_open(db) == [], "a force-closed transaction is still loaded as open"


def test_stop_out_of_range_closes_the_named_transaction_with_energy_unknown(db: Connection) -> None:
    tx = _start(db).transaction_id
    row = tx_store.StopRow("CP1", tx, 2**64 - 1, "2026-01-01T11:00:00Z", None, None, None, 1.0, False)
    details = TransactionStopFlagged("CP1", tx, "OutOfRange", str(2**64 - 1), None)
    stopped = tx_store.stop_out_of_range(db, row, [], True, details)
    assert stopped.flag == "OutOfRange"
    meter_stop, flag = db.execute(
        "SELECT meter_stop, stop_flag FROM transactions WHERE id = ?", (tx,)
    ).fetchone()
    assert (meter_stop, flag) == (None, "MeterStopOutOfRange")
    assert _events(db)[-1] == "TransactionStopFlagged"
