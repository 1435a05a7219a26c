"""The store's life at its edges, on real files: a writer that cannot open its store leaves nothing to wait
on, a writer whose thread ended fails writes at once, the data directory's lock and modes, and retention.

Issue 15: `Appliance.stop()` waited forever on a writer thread that had died at start (finding 3); the
events table and status history were never pruned (finding 6); a second appliance could share a data
directory, readable by every local user (finding 9).
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import time
from contextlib import closing
from pathlib import Path

import pytest
from voltyard.config import StoreConfig
from voltyard.errors import StoreError
from voltyard.store.data_dir import DataDir
from voltyard.store.db import connect, migrate
from voltyard.store.retention import prune_tables
from voltyard.store.writer import StoreWriter

HANG_GUARD = 30.0


@pytest.mark.parametrize("make", ["directory", "not_sqlite"])
async def test_a_writer_that_cannot_open_its_store_raises_and_closes_at_once(
    tmp_path: Path, make: str
) -> None:
    path = tmp_path / "voltyard.db"
    if make == "directory":
        path.mkdir()
    else:
        path.write_text("not a database, only words, enough of them to fill a header of a hundred bytes " * 2)
    writer = StoreWriter(path)
    with pytest.raises(StoreError, match="cannot open the store"):
        await writer.start()
    assert not writer.running
    async with asyncio.timeout(HANG_GUARD):
        await writer.close()  # waited forever on the dead thread before
    with pytest.raises(StoreError, match="not running"):
        writer.durable(lambda conn: None)


async def test_writes_to_a_writer_whose_thread_ended_fail_at_once(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "voltyard.db")
    await writer.start()

    def end_the_thread(conn: sqlite3.Connection) -> None:
        raise SystemExit  # not an Exception: the unit-of-work isolation does not catch it

    async with asyncio.timeout(HANG_GUARD):
        with pytest.raises(StoreError, match="writer has stopped"):
            await writer.durable(end_the_thread)
        with pytest.raises(StoreError, match="writer has stopped"):
            await writer.durable(lambda conn: None)
        await writer.close()


def test_the_data_dir_lock_refuses_a_second_holder_with_the_pid(tmp_path: Path) -> None:
    first = DataDir(tmp_path / "site")
    first.open()
    try:
        with pytest.raises(StoreError, match=r"in use by another voltyard \(pid \d+\)"):
            DataDir(tmp_path / "site").open()
    finally:
        first.close()
    again = DataDir(tmp_path / "site")
    again.open()
    again.close()


def test_the_data_dir_is_created_private_and_tightened(tmp_path: Path) -> None:
    data = tmp_path / "site"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "api-token-operator").write_text("secret\n")
    (data / "api-token-operator").chmod(0o644)
    opened = DataDir(data)
    opened.open()
    opened.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "api-token-operator").stat().st_mode) == 0o600
    with closing(connect(data / "voltyard.db")):
        assert stat.S_IMODE((data / "voltyard.db").stat().st_mode) == 0o600


def _store(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "voltyard.db"
    conn = connect(path)
    migrate(conn, path)
    return conn


def test_retention_prunes_events_by_age_and_rows(tmp_path: Path) -> None:
    now = time.time()
    with closing(_store(tmp_path)) as conn:
        old = [(now - 40 * 86400, "Old", None, "{}")] * 5
        recent = [(now - 60, "Recent", None, "{}")] * 20
        conn.executemany(
            "INSERT INTO events (time, kind, charger_id, data) VALUES (?, ?, ?, ?)", old + recent
        )
        conn.execute("INSERT INTO sync_cursors (name, seq) VALUES ('upstream', 0)")  # never synced
        config = StoreConfig(events_max_age_days=30, events_max_rows=15)
        deleted = prune_tables(conn, config, now)
        assert deleted == {"events": 10}
        kinds = [row[0] for row in conn.execute("SELECT kind FROM events ORDER BY seq")]
        assert kinds == ["Recent"] * 15  # the newest, whatever the upstream cursor says
        assert prune_tables(conn, config, now) == {}


def test_retention_prunes_status_history_and_keeps_open_transactions_meter_readings(tmp_path: Path) -> None:
    now = time.time()
    old = now - 100 * 86400
    with closing(_store(tmp_path)) as conn:
        conn.executemany(
            "INSERT INTO status_history (charger_id, connector_id, status, error_code, received_at) "
            "VALUES ('CP', 1, 'Available', 'NoError', ?)",
            [(old,), (now,)],
        )
        for tx, stopped, stopped_at in ((1, "2020-01-01T00:00:00Z", old), (2, None, None)):
            conn.execute(
                "INSERT INTO transactions (id, charger_id, connector_id, id_tag, meter_start, start_time, "
                "started_at, stop_time, stopped_at) "
                "VALUES (?, 'CP', ?, 'TAG', 0, '2020-01-01T00:00:00Z', ?, ?, ?)",
                (tx, tx, old, stopped, stopped_at),
            )
        conn.executemany(
            "INSERT INTO meter_blocks (charger_id, connector_id, transaction_id, first_timestamp, "
            "last_timestamp, count, data, stored_at) "
            "VALUES ('CP', 1, ?, '2020-01-01T00:00:00Z', ?, 1, x'00', ?)",
            [
                (1, "2020-01-01T00:00:00Z", old),
                (2, "2020-01-01T00:00:00Z", old),
                (None, "2099-01-01T00:00:00Z", now),
            ],
        )
        conn.executemany(
            "INSERT INTO meter_values (charger_id, connector_id, transaction_id, timestamp, sampled_value, "
            "received_at) VALUES ('CP', 1, ?, '2020-01-01T00:00:00Z', '[]', ?)",
            [(1, old), (2, old)],
        )
        deleted = prune_tables(conn, StoreConfig(), now)
        assert deleted == {"status_history": 1, "meter_values": 1, "meter_blocks": 1}
        left = conn.execute("SELECT transaction_id FROM meter_blocks ORDER BY id").fetchall()
        assert left == [(2,), (None,)]  # the open transaction's block and a recent one
        assert conn.execute("SELECT transaction_id FROM meter_values").fetchall() == [(2,)]


def test_a_limit_of_zero_keeps_everything(tmp_path: Path) -> None:
    now = time.time()
    with closing(_store(tmp_path)) as conn:
        conn.executemany(
            "INSERT INTO events (time, kind, charger_id, data) VALUES (?, 'Old', NULL, '{}')",
            [(now - 400 * 86400,)] * 3,
        )
        config = StoreConfig(events_max_age_days=0, events_max_rows=0)
        assert prune_tables(conn, config, now) == {}
