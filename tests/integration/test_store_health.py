"""The store tells the truth about itself, on real files (issue 17, finding 6).

A commit that fails makes the store degraded until one succeeds, and gives the WAL's space back; a store
with damaged pages or of a newer schema is refused at start, untouched; the WAL is checkpointed by bytes.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from voltyard.errors import StoreUnusableError
from voltyard.store.db import connect, is_corruption, migrate, schema_version
from voltyard.store.writer import StoreWriter

HANG_GUARD = 30.0
PAGE = 16384

# Rows of `orphan` need a `parent` row by the time of COMMIT (a deferred foreign key): a commit that fails,
# as one on a full disk does, with every statement before it succeeding.
_FAILING_COMMIT_SCHEMA = """
CREATE TABLE parent (id INTEGER PRIMARY KEY);
CREATE TABLE orphan (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
"""


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[StoreWriter]:
    path = tmp_path / "voltyard.db"
    with closing(connect(path)) as conn:
        migrate(conn, path)
        conn.executescript(_FAILING_COMMIT_SCHEMA)
    store = StoreWriter(path, commit_interval=0.05)
    await store.start()
    try:
        yield store
    finally:
        async with asyncio.timeout(HANG_GUARD):
            await store.close()


def _status_row(n: int) -> tuple[object, ...]:
    return (f"CP{n}", 1, "Available", "NoError", 1.0)


_STATUS = (
    "INSERT INTO status_history (charger_id, connector_id, status, error_code, received_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


async def test_a_failing_commit_makes_the_store_degraded_until_one_succeeds(writer: StoreWriter) -> None:
    async with asyncio.timeout(HANG_GUARD):
        await writer.flush()
        assert writer.health().ok
        assert writer.health().last_commit_age_s is not None

        writer.append("INSERT INTO orphan (parent_id) VALUES (?)", (42,))
        with pytest.raises(Exception, match="commit failed: FOREIGN KEY constraint failed"):
            await writer.flush()  # shares the group whose commit fails
        health = writer.health()
        assert not health.ok
        assert health.commits_failed == 1
        assert health.running  # one failed group never ends the thread
        assert any("store commits are failing" in problem for problem in health.problems)

        await writer.flush()  # the next group commits
        health = writer.health()
        assert health.ok, health.problems
        assert health.commits_failed == 1


async def test_a_failed_commit_gives_the_wal_space_back(writer: StoreWriter) -> None:
    wal = writer.path.with_name("voltyard.db-wal")
    async with asyncio.timeout(HANG_GUARD):
        for n in range(2000):
            writer.append(_STATUS, _status_row(n))
        await writer.flush()
        assert wal.stat().st_size > 0
        writer.append("INSERT INTO orphan (parent_id) VALUES (?)", (42,))
        with pytest.raises(Exception, match="commit failed"):
            await writer.flush()
    assert wal.stat().st_size == 0  # checkpointed into the database and truncated


def _make_store(path: Path, rows: int = 3000) -> None:
    with closing(connect(path)) as conn:
        migrate(conn, path)
        conn.execute("BEGIN")
        conn.executemany(_STATUS, [_status_row(n) for n in range(rows)])
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def damage_a_page(path: Path) -> None:
    """Overwrite the root page of status_history with garbage, as a failing disk would."""
    with closing(sqlite3.connect(path)) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'status_history'").fetchone()[0]
    with path.open("r+b") as file:
        file.seek((root - 1) * PAGE)
        file.write(b"\xff" * PAGE)


async def test_a_store_with_damaged_pages_is_refused_at_start_untouched(tmp_path: Path) -> None:
    path = tmp_path / "voltyard.db"
    _make_store(path)
    damage_a_page(path)
    before = path.read_bytes()
    writer = StoreWriter(path)
    with pytest.raises(
        StoreUnusableError, match=r"the store is damaged: Page \d+: .*restore it from a backup"
    ) as refused:
        await writer.start()
    assert "\n" not in str(refused.value)  # one line
    assert path.read_bytes() == before
    async with asyncio.timeout(HANG_GUARD):
        await writer.close()


def test_sqlite_reporting_damage_is_told_apart_from_other_errors(tmp_path: Path) -> None:
    path = tmp_path / "voltyard.db"
    _make_store(path)
    damage_a_page(path)
    with closing(sqlite3.connect(path)) as conn:
        with pytest.raises(sqlite3.DatabaseError) as damaged:
            conn.execute("SELECT SUM(received_at) FROM status_history").fetchall()  # the table, not an index
        with pytest.raises(sqlite3.OperationalError) as other:
            conn.execute("SELECT * FROM no_such_table")
    assert is_corruption(damaged.value)
    assert not is_corruption(other.value)


async def test_a_store_of_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "voltyard.db"
    with closing(sqlite3.connect(path)) as conn:  # a rollback journal, as a future version might keep
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {schema_version() + 3}")
    before = path.read_bytes()
    writer = StoreWriter(path)
    expected = (
        rf"{path}: the store was written by a newer voltyard \(schema {schema_version() + 3}, this build "
        rf"knows {schema_version()}\)"
    )
    with pytest.raises(StoreUnusableError, match=expected):
        await writer.start()
    assert path.read_bytes() == before  # not even its journal mode changed
    assert not path.with_name("voltyard.db-wal").exists()
    async with asyncio.timeout(HANG_GUARD):
        await writer.close()


@pytest.mark.parametrize("page_size", [4096, 16384])
def test_the_wal_is_checkpointed_by_bytes_whatever_the_page_size(tmp_path: Path, page_size: int) -> None:
    path = tmp_path / "voltyard.db"
    with closing(sqlite3.connect(path)) as conn:  # an older store may have another page size
        conn.execute(f"PRAGMA page_size = {page_size}")
        conn.execute("CREATE TABLE t (x)")
    with closing(connect(path)) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == page_size
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] * page_size == 16 * 2**20
        assert conn.execute("PRAGMA journal_size_limit").fetchone()[0] == 16 * 2**20


async def test_the_disk_threshold_is_reported(tmp_path: Path) -> None:
    stats = os.statvfs(tmp_path)
    free = stats.f_bavail * stats.f_frsize
    writer = StoreWriter(tmp_path / "voltyard.db", min_free_bytes=free + 2**40)
    await writer.start()
    try:
        health = writer.health()
        assert health.free_bytes is not None
        assert abs(health.free_bytes - free) < 2**30  # other work on the machine writes meanwhile
        assert not health.ok
        assert "[store] min_free_disk_mb" in health.problems[0]
    finally:
        async with asyncio.timeout(HANG_GUARD):
            await writer.close()
