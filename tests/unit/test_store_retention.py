"""Retention compares instants, never text, and bounds every table that grows (issue 17, finding 7).

Meter blocks were pruned by comparing a charger's `last_timestamp` text with a cutoff: a charger with a wrong
clock or another offset kept old blocks for ever or lost fresh ones. Stop records and certificate requests,
which a charger can send without end, had no limit; finished transactions none to set. On a real SQLite
store, through its migrations.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from voltyard.config import StoreConfig
from voltyard.store.connection import Connection
from voltyard.store.db import connect, migrate, migrations
from voltyard.store.meter_log import MeterLog, meter_readings
from voltyard.store.retention import prune_tables
from voltyard.store.writer import StoreWriter

DAY = 86400.0


@pytest.fixture
def conn(store_db: Connection) -> Connection:
    """A migrated store of each backend (tests/conftest.py `store_db`)."""
    return store_db


def _block(conn: Connection, last_timestamp: str, stored_at: float, tx: int | None = None) -> None:
    conn.execute(
        "INSERT INTO meter_blocks (charger_id, connector_id, transaction_id, first_timestamp, "
        "last_timestamp, count, data, stored_at) VALUES ('CP', 1, ?, ?, ?, 1, ?, ?)",
        (tx, last_timestamp, last_timestamp, b"\x00", stored_at),
    )


def test_meter_blocks_go_by_when_they_were_stored_not_by_the_chargers_text(conn: Connection) -> None:
    now = time.time()
    _block(conn, "2099-01-01T00:00:00Z", now - 100 * DAY)  # a clock far ahead, stored long ago: goes
    _block(conn, "2000-01-01T00:00:00+14:00", now)  # a clock far behind, stored now: stays
    deleted = prune_tables(conn, StoreConfig(meter_values_max_age_days=90), now)
    assert deleted == {"meter_blocks": 1}
    assert conn.execute("SELECT last_timestamp FROM meter_blocks").fetchall() == [
        ("2000-01-01T00:00:00+14:00",)
    ]


def test_the_migration_gives_existing_blocks_their_instant(tmp_path: Path) -> None:
    path = tmp_path / "voltyard.db"
    before = max(version for version, _, _ in migrations() if version < 7)
    with closing(sqlite3.connect(path, isolation_level=None)) as old:
        for version, _, sql in migrations():
            if version <= before:
                old.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
        old.executemany(
            "INSERT INTO meter_blocks (charger_id, connector_id, first_timestamp, last_timestamp, count, "
            "data) VALUES ('CP', 1, ?, ?, 1, x'00')",
            [
                (stamp, stamp)
                for stamp in ("2026-03-01T10:00:00+05:00", "2026-03-01T04:30:00.500Z", "garbage")
            ],
        )
    started = time.time()
    with closing(connect(path)) as conn:
        migrate(conn, path)
        stored = [row[0] for row in conn.execute("SELECT stored_at FROM meter_blocks ORDER BY id")]
    assert stored[0] == pytest.approx(datetime(2026, 3, 1, 5, 0, tzinfo=UTC).timestamp(), abs=1e-3)  # offset
    assert stored[1] == pytest.approx(
        datetime(2026, 3, 1, 4, 30, 0, 500000, tzinfo=UTC).timestamp(), abs=1e-3
    )
    assert stored[2] >= int(started)  # does not parse: ages from the migration on


@pytest.mark.parametrize("table", ["stop_records", "certificate_requests"])
def test_stop_records_and_certificate_requests_are_bounded_by_age_and_rows(
    conn: Connection, table: str
) -> None:
    now = time.time()
    insert = {
        "stop_records": "INSERT INTO stop_records (charger_id, transaction_id, meter_stop, timestamp, "
        "received_at, flag) VALUES ('CP', 999, 0, '2026-01-01T00:00:00Z', ?, 'Unknown')",
        "certificate_requests": "INSERT INTO certificate_requests (charger_id, csr, received_at) "
        "VALUES ('CP', 'CSR', ?)",
    }[table]
    conn.executemany(insert, [(now - 400 * DAY,)] * 3 + [(now - 60,)] * 10)
    prefix = table
    config = StoreConfig(**{f"{prefix}_max_age_days": 365.0, f"{prefix}_max_rows": 6})  # type: ignore[arg-type]
    assert prune_tables(conn, config, now) == {table: 7}
    assert (
        conn.execute(f"SELECT COUNT(*) FROM {table} WHERE received_at > ?", (now - DAY,)).fetchone()[0] == 6
    )
    assert prune_tables(conn, config, now) == {}


def test_finished_transactions_are_kept_unless_an_age_is_set(conn: Connection) -> None:
    now = time.time()
    rows = [(1, now - 400 * DAY, now - 399 * DAY), (2, now - 400 * DAY, None), (3, now - 2 * DAY, now - DAY)]
    for tx, started, stopped in rows:
        conn.execute(
            "INSERT INTO transactions (id, charger_id, connector_id, id_tag, meter_start, start_time, "
            "started_at, stopped_at) VALUES (?, 'CP', ?, 'TAG', 0, '2026-01-01T00:00:00Z', ?, ?)",
            (tx, tx, started, stopped),
        )
    assert "transactions" not in prune_tables(conn, StoreConfig(), now)  # billing records: kept by default
    assert prune_tables(conn, StoreConfig(transactions_max_age_days=365), now) == {"transactions": 1}
    left = [row[0] for row in conn.execute("SELECT id FROM transactions ORDER BY id")]
    assert left == [2, 3]  # the open one, however old, and the recent one


async def test_meter_blocks_are_stamped_when_stored(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "voltyard.db")
    await writer.start()
    try:
        meters = MeterLog(writer)
        before = time.time()
        meters.append("CP", 1, None, "1999-01-01T00:00:00+09:00", b"[]", 10.0, None, before, False)
        await writer.flush()
    finally:
        await writer.close()
    with closing(sqlite3.connect(tmp_path / "voltyard.db")) as db:
        (stored_at,) = db.execute("SELECT stored_at FROM meter_blocks").fetchone()
        assert before <= stored_at <= time.time()
        assert [reading.energy_wh for reading in meter_readings(db, charger_id="CP")] == [10.0]


def _transaction(conn: Connection, tx: int, stopped_at: float | None) -> None:
    conn.execute(
        "INSERT INTO transactions (id, charger_id, connector_id, id_tag, meter_start, start_time, "
        "started_at, stopped_at, charger_tx_id) "
        "VALUES (?, 'CP', ?, 'TAG', 0, '2026-01-01T00:00:00Z', 0, ?, ?)",
        (tx, tx, stopped_at, f"TX-{tx}"),
    )


def _event(conn: Connection, tx: int, seq_no: int, received_at: float) -> None:
    conn.execute(
        "INSERT INTO transaction_events (charger_id, charger_tx_id, seq_no, transaction_id, event_type, "
        "trigger_reason, offline, timestamp, payload, received_at) "
        "VALUES ('CP', ?, ?, ?, 'Updated', 'MeterValuePeriodic', 0, '2026-01-01T00:00:00Z', '{}', ?)",
        (f"TX-{tx}", seq_no, tx, received_at),
    )


def test_transaction_events_age_as_readings_but_never_those_of_an_open_transaction(
    conn: Connection,
) -> None:
    now = time.time()
    _transaction(conn, 1, now - 100 * DAY)  # ended long ago
    _transaction(conn, 2, None)  # still open (an offline charger's long session)
    for seq_no in range(3):
        _event(conn, 1, seq_no, now - 100 * DAY)
        _event(conn, 2, seq_no, now - 100 * DAY)
    _event(conn, 1, 3, now - DAY)
    assert prune_tables(conn, StoreConfig(meter_values_max_age_days=90), now) == {"transaction_events": 3}
    left = conn.execute("SELECT transaction_id, seq_no FROM transaction_events ORDER BY 1, 2").fetchall()
    assert left == [(1, 3), (2, 0), (2, 1), (2, 2)]


def test_a_pruned_transaction_takes_its_events_and_its_uplink_map_once_nothing_queued_names_it(
    conn: Connection,
) -> None:
    now = time.time()
    for tx in (1, 2, 3):
        _transaction(conn, tx, now - 400 * DAY if tx < 3 else now - DAY)
        _event(conn, tx, 0, now - DAY)
        conn.execute(
            "INSERT INTO uplink_transactions (transaction_id, charger_id, upstream_id) VALUES (?, 'CP', ?)",
            (tx, 100 + tx),
        )
    # Transaction 2's stop still waits for the central system: its map must stay to name it upstream.
    conn.execute(
        "INSERT INTO uplink_queue (charger_id, action, payload, transaction_id, queued_at) "
        "VALUES ('CP', 'StopTransaction', '{}', 2, ?)",
        (now,),
    )
    config = StoreConfig(meter_values_max_age_days=0, transactions_max_age_days=365)
    assert prune_tables(conn, config, now) == {
        "transactions": 2, "transaction_events": 2, "uplink_transactions": 1,
    }  # fmt: skip
    assert conn.execute("SELECT transaction_id FROM transaction_events").fetchall() == [(3,)]
    kept = conn.execute("SELECT transaction_id FROM uplink_transactions ORDER BY 1").fetchall()
    assert kept == [(2,), (3,)]
