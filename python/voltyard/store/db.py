"""Opening the SQLite file: WAL pragmas, versioned migrations, and the checks that it is usable.

The schema version is SQLite's `user_version`; migration N is `migrations/NNNN_*.sql`, applied in order
inside one transaction each, so a crash mid-migration leaves the previous version intact. A file of a
newer schema is refused untouched (`StoreUnusableError`: no downgrade, no migration), and so is a file with
damaged pages (`check_integrity`, at every start).

The WAL is kept bounded on purpose: SQLite checkpoints it after `_WAL_CHECKPOINT_BYTES` of commits whatever
the page size, `journal_size_limit` cuts the file back to that size once a checkpoint has emptied it, and
after a failed commit (a full disk) and at the first success after failures the writer checkpoints and
truncates it (`reclaim_wal`): on a small volume, space freed by the operator is not taken again by the WAL
before a checkpoint. 16 MiB rather than 4: at 4 MiB a busy appliance checkpointed (and fsynced the
database) every second or two and cut the WAL back and grew it again at each, which cost the writer
thread measurably more CPU per call than the previous main's 16 MB (bench/README.md).
"""

from __future__ import annotations

import functools
import os
import sqlite3
from importlib import resources
from pathlib import Path

from voltyard.errors import StoreError, StoreUnusableError
from voltyard.store.connection import Connection

__all__ = [
    "DB_FILENAME",
    "SqliteBackend",
    "check_integrity",
    "connect",
    "is_corruption",
    "migrate",
    "migrations",
    "reclaim_wal",
    "schema_version",
]

DB_FILENAME = "voltyard.db"
_WAL_CHECKPOINT_BYTES = 16 * 1024 * 1024
# SQLite's primary result codes of a damaged file: SQLITE_CORRUPT (11) and SQLITE_NOTADB (26).
_CORRUPTION_CODES = frozenset({11, 26})


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the store's pragmas; `readonly` for queries (WAL lets them run beside the writer).

    A new store file is created 0600 (SQLite gives its -wal and -shm files the mode of the database).

    Raises:
        StoreError: the file cannot be created or opened, or is not an SQLite database.
    """
    if not readonly:
        _create_private(path)
    conn: sqlite3.Connection | None = None
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        if not readonly:
            # Before any pragma that writes the header (journal_mode): a newer store is left as it was.
            _refuse_newer(int(conn.execute("PRAGMA user_version").fetchone()[0]), path)
            # Larger pages and cache: fewer, fuller pages for the writer. page_size only takes effect on a
            # new file.
            conn.execute("PRAGMA page_size = 16384")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: every commit fsyncs the WAL, which is what "acknowledged = on disk" needs.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Sized in bytes: an older file may have another page size (page_size applies to new files).
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            conn.execute(f"PRAGMA wal_autocheckpoint = {max(1, _WAL_CHECKPOINT_BYTES // page_size)}")
            conn.execute(f"PRAGMA journal_size_limit = {_WAL_CHECKPOINT_BYTES}")
    except StoreUnusableError:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        error = StoreUnusableError if is_corruption(exc) else StoreError
        raise error(f"{path}: cannot open the store: {exc}{_why(path)}") from exc
    return conn


def is_corruption(exc: BaseException) -> bool:
    """Whether `exc` is SQLite saying the file is damaged or not a database at all."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.DatabaseError) and code is not None and code & 0xFF in _CORRUPTION_CODES


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a store with damaged pages before anything is served from it.

    `PRAGMA quick_check` reads every page once (no index-to-table cross-check, which is what makes
    `integrity_check` slow): roughly the time to read the file, about 1-2 s per GB on an SSD (measured in
    docs/security-and-health.md). A store that opened "fine" with damaged pages answered half the API with
    500 and /health ok (issue 17); damage that appears later fails commits, and /health says so.

    Raises:
        StoreUnusableError: the check found damage, or SQLite reported it while checking.
    """
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreUnusableError(f"{path}: the store is damaged: {exc}{_RESTORE}") from exc
    # SQLite words its findings over several lines under a "*** in database main ***" heading: one line.
    lines = [line.strip() for row in rows for line in str(row[0]).splitlines()]
    problems = [line for line in lines if line and not line.startswith("***")]
    if problems != ["ok"]:
        raise StoreUnusableError(f"{path}: the store is damaged: {'; '.join(problems[:3])}{_RESTORE}")


_RESTORE = " (restore it from a backup, or move it aside to start with an empty store)"


def reclaim_wal(conn: sqlite3.Connection) -> None:
    """Checkpoint the WAL into the database and truncate it to zero bytes, without waiting for readers.

    After a failed commit and at the first commit after failures (voltyard.store.writer): a full volume gets
    the WAL's space back as soon as the checkpoint can be written. Never raises: it may itself fail on a full
    disk, or find a reader in the way, and the next call tries again.
    """
    try:
        # A reader in the way: try again later rather than block the writer.
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.execute("PRAGMA busy_timeout = 5000")
    except sqlite3.Error:
        pass


def _create_private(path: Path) -> None:
    if path.is_dir():
        raise StoreError(f"{path}: cannot open the store: it is a directory, not a database file")
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store: {exc.strerror}{_why(path)}") from exc


def _why(path: Path) -> str:
    """A hint at the likeliest cause of an open failure that SQLite words vaguely."""
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return " (the data directory is not writable)"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return " (the file is not readable and writable)"
    return ""


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("voltyard.store").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


@functools.cache
def schema_version() -> int:
    """The newest schema version this build knows (its last migration)."""
    available = migrations()
    return available[-1][0] if available else 0


def _refuse_newer(version: int, path: Path) -> None:
    newest = schema_version()
    if version > newest:
        raise StoreUnusableError(
            f"{path}: the store was written by a newer voltyard (schema {version}, this build knows "
            f"{newest}); run that version or a later one, or restore a backup of this version's store"
        )


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the file to the newest schema version; returns it.

    Raises:
        StoreUnusableError: the file was written by a newer voltyard; it is left untouched.
        StoreError: a migration failed (the file stays at the version before it).
    """
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    _refuse_newer(current, path)
    available = migrations()
    for version, name, sql in available:
        if version <= current:
            continue
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"{path}: migration {name} failed: {exc}") from exc
        current = version
    return current


class SqliteBackend:
    """The embedded default: one SQLite file under the data directory (see the module docstring)."""

    begin = "BEGIN IMMEDIATE"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self.volume: Path | None = path.parent

    def open_writer(self) -> sqlite3.Connection:
        conn = connect(self.path)
        try:
            migrate(conn, self.path)
            check_integrity(conn, self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    def open_reader(self) -> sqlite3.Connection:
        return connect(self.path, readonly=True)

    def in_transaction(self, conn: Connection) -> bool:
        assert isinstance(conn, sqlite3.Connection)
        return conn.in_transaction

    def recover(self, conn: Connection) -> None:
        assert isinstance(conn, sqlite3.Connection)
        reclaim_wal(conn)

    def is_corruption(self, exc: BaseException) -> bool:
        return is_corruption(exc)

    def close(self) -> None:
        """Nothing kept: each reader opens the file anew (cheap)."""
