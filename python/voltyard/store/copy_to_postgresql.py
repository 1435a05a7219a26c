"""`voltyard store migrate-to-postgresql`: copy an appliance's SQLite store into an empty PostgreSQL
database, so that the appliance (or a cluster of nodes) can serve from it (`[store] backend = "postgresql"`).

The copy is one PostgreSQL transaction (all of it or nothing) taken under the data directory's lock (no
`voltyard serve` writes the file meanwhile). Every table of the SQLite store is copied with COPY, column for
column (the PostgreSQL schema is the SQLite one, voltyard.store.postgresql); the row counts are checked
after. Ids keep their values, and each identity column's sequence is set past the highest id the SQLite
store ever gave (its `sqlite_sequence` too): a transaction id a charger once received is never given again.
The appliance's secret key of the passwords' keyed hashes is the SQLite store's, so stored passwords keep
verifying. `device_model_sizes` is not copied: its triggers count the device model as it is copied.

Refused, with the reason: a SQLite store that is missing, damaged, of another schema version than this
build's (start this voltyard on it once: it migrates the file), a data directory in use, or a database that
is not empty.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from voltyard.config import redacted_url
from voltyard.errors import StoreError
from voltyard.store.data_dir import DataDir
from voltyard.store.db import DB_FILENAME, check_integrity, connect, schema_version
from voltyard.store.postgresql import PgConnection, migrate

__all__ = ["CopyResult", "copy_to_postgresql"]

# Filled by PostgreSQL's own triggers (from device_model) or by its migration (replaced by the copy's).
_DERIVED = frozenset({"device_model_sizes"})
_REPLACED = ("appliance_secrets",)
_BATCH = 5000


@dataclass(frozen=True, slots=True)
class CopyResult:
    """Rows copied per table, in the order copied."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy_to_postgresql(
    data_dir: Path, dsn: str, progress: Callable[[str, int], None] = lambda table, rows: None
) -> CopyResult:
    """Copy `data_dir`'s SQLite store into the empty database at `dsn`; `progress(table, rows)` after each.

    Raises:
        StoreError: refused or failed (nothing is left in the database): the message says why.
    """
    path = data_dir / DB_FILENAME
    if not path.is_file():
        raise StoreError(f"{path}: no SQLite store there (is --data-dir the appliance's data directory?)")
    lock = DataDir(data_dir)
    lock.open()  # refuses a directory a running voltyard holds
    try:
        with contextlib.closing(connect(path, readonly=True)) as source:
            _check_source(source, path)
            target = PgConnection(dsn)
            try:
                migrate(target)
                return _copy(source, target, path, dsn, progress)
            finally:
                target.close()
    finally:
        lock.close()


def _check_source(source: sqlite3.Connection, path: Path) -> None:
    check_integrity(source, path)
    version = int(source.execute("PRAGMA user_version").fetchone()[0])
    if version != schema_version():
        raise StoreError(
            f"{path}: the store is at schema {version}, this build copies schema {schema_version()}: "
            + (
                "start this voltyard on it once (it migrates the file), then copy it"
                if version < schema_version()
                else "it was written by a newer voltyard; copy it with that version"
            )
        )


def _copy(
    source: sqlite3.Connection,
    target: PgConnection,
    path: Path,
    dsn: str,
    progress: Callable[[str, int], None],
) -> CopyResult:
    where = redacted_url(dsn)
    tables = [
        str(name)
        for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        if name not in _DERIVED
    ]
    raw = target.raw
    try:
        raw.execute("BEGIN")
        for table in tables:
            if table in _REPLACED:
                continue
            if raw.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone() == (True,):
                raise StoreError(
                    f"{where}: the database already holds a store (table {table} has rows); copy into an "
                    "empty database"
                )
        copied: dict[str, int] = {}
        for table in tables:
            copied[table] = _copy_table(source, raw, table, where)
            progress(table, copied[table])
        _advance_sequences(source, raw, tables)
        raw.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(psycopg.Error):
            raw.execute("ROLLBACK")
        if isinstance(exc, psycopg.Error):
            raise StoreError(f"{where}: the copy of {path} failed, nothing was copied: {exc}") from exc
        raise
    return CopyResult(copied)


def _columns(raw: psycopg.Connection[Any], table: str, where: str) -> list[str]:
    found = raw.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    if not found:
        raise StoreError(f"{where}: the PostgreSQL schema has no table {table}")
    return [str(row[0]) for row in found]


def _copy_table(source: sqlite3.Connection, raw: psycopg.Connection[Any], table: str, where: str) -> int:
    wanted = _columns(raw, table, where)
    have = [str(row[1]) for row in source.execute(f"PRAGMA table_info({table})")]
    missing = [column for column in have if column not in wanted]
    if missing:
        raise StoreError(f"{where}: the PostgreSQL table {table} has no column {missing[0]}")
    if table in _REPLACED:
        raw.execute(f"DELETE FROM {table}")
    listed = ", ".join(have)
    count = 0
    with raw.cursor().copy(f"COPY {table} ({listed}) FROM STDIN") as stream:
        rows = source.execute(f"SELECT {listed} FROM {table}")
        while batch := rows.fetchmany(_BATCH):
            for row in batch:
                stream.write_row(row)
            count += len(batch)
    stored = _one(raw, f"SELECT count(*) FROM {table}")
    if stored != count:
        raise StoreError(f"{where}: {table}: {count} rows read, {stored} stored")
    return count


def _advance_sequences(source: sqlite3.Connection, raw: psycopg.Connection[Any], tables: list[str]) -> None:
    """Every identity column's next value past the highest id the SQLite store holds or ever gave."""
    ever: dict[str, int] = {}
    with contextlib.suppress(sqlite3.OperationalError):  # no AUTOINCREMENT table ever written: no table
        ever = {str(name): int(seq) for name, seq in source.execute("SELECT name, seq FROM sqlite_sequence")}
    identities = raw.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    for table, column in identities:
        if table not in tables:
            continue
        highest = _one(raw, f"SELECT max({column}) FROM {table}")
        last = max(int(highest or 0), ever.get(str(table), 0))
        if last > 0:
            raw.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s)", (table, column, last))


def _one(raw: psycopg.Connection[Any], sql: str) -> Any:  # noqa: ANN401 - the one value a query returns
    row = raw.execute(sql.encode()).fetchone()
    assert row is not None  # an aggregate always returns its row
    return row[0]
