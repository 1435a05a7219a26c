"""Opening the SQLite file: WAL pragmas and versioned migrations.

The schema version is SQLite's `user_version`; migration N is `migrations/NNNN_*.sql`, applied in order
inside one transaction each, so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import os
import sqlite3
from importlib import resources
from pathlib import Path

from voltyard.errors import StoreError

__all__ = ["DB_FILENAME", "connect", "migrate", "migrations"]

DB_FILENAME = "voltyard.db"


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the store's pragmas; `readonly` for queries (WAL lets them run beside the writer).

    A new store file is created 0600 (SQLite gives its -wal and -shm files the mode of the database).

    Raises:
        StoreError: the file cannot be created or opened, or is not an SQLite database.
    """
    if not readonly:
        _create_private(path)
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        if not readonly:
            # Larger pages and cache: fewer, fuller pages for the writer. page_size only takes effect on a
            # new file.
            conn.execute("PRAGMA page_size = 16384")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: every commit fsyncs the WAL, which is what "acknowledged = on disk" needs.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the store: {exc}{_why(path)}") from exc
    return conn


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


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the file to the newest schema version; returns it. Refuses a file newer than this code."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    available = migrations()
    newest = available[-1][0] if available else 0
    if current > newest:
        raise StoreError(f"{path}: schema version {current} is newer than this Voltyard knows ({newest})")
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
