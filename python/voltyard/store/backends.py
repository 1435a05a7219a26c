"""The store backend that `[store] backend` names: SQLite's file in the data directory (the default) or
the PostgreSQL database at `[store] dsn` (voltyard.store.postgresql, loaded only then)."""

from __future__ import annotations

from pathlib import Path

from voltyard.config import StoreConfig
from voltyard.store.connection import Backend
from voltyard.store.db import DB_FILENAME, SqliteBackend

__all__ = ["open_backend"]


def open_backend(config: StoreConfig, data_dir: Path) -> Backend:
    """The configured backend (nothing is connected yet: the writer opens it)."""
    if config.backend == "postgresql":
        from voltyard.store.postgresql import PostgresBackend  # noqa: PLC0415 - psycopg only when chosen

        assert config.dsn is not None  # the loader refuses postgresql without a dsn
        return PostgresBackend(config.dsn)
    return SqliteBackend(data_dir / DB_FILENAME)
