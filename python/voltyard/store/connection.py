"""The store's connection seam: what the store modules use of a DB-API connection, whatever the backend.

Every store function takes a `Connection`: the writer thread's (durable work, telemetry batches) or a
reader's (the API, the domain's load at start). SQLite's `sqlite3.Connection` is one as it is; PostgreSQL's
is `voltyard.store.postgresql.PgConnection`, which takes the same SQL. The SQL is written once, in the
dialect both accept: `?` parameters (`?N` for a numbered one), `INSERT ... ON CONFLICT (...) DO UPDATE/DO
NOTHING`, `RETURNING id` for a new key, explicit keys (never SQLite's rowid), `1 = 1` rather than a bare `1`.
The few SQLite functions the queries use (json_extract, instr) exist in the PostgreSQL schema under the same
names (store/migrations_postgresql).

A `Backend` opens connections of one kind: the writer's (migrated and checked) and the readers'.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Backend", "Connection", "Cursor"]


class Cursor(Protocol):
    """The result of one statement: its rows and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...  # noqa: ANN401 - a row, or None: its shape is the query's
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the store runs its SQL on (`?` parameters; see the module docstring)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...
    def close(self) -> None: ...


class Backend(Protocol):
    """One store backend: opens its connections and knows how its transactions and failures look."""

    # What names the store in messages: the SQLite file, or the PostgreSQL URL without its password.
    where: str
    # The volume whose free space /health watches (the SQLite file's directory), None when not local.
    volume: Path | None
    # The statement that opens the writer's group transaction.
    begin: str

    def open_writer(self) -> Connection:
        """The writing connection, its schema migrated to this build's and checked.

        Raises:
            StoreError: the store cannot be reached, opened or migrated.
            StoreUnusableError: the store is damaged or of a newer schema.
        """
        ...

    def open_reader(self) -> Connection:
        """A connection for queries, beside the writer."""
        ...

    def in_transaction(self, conn: Connection) -> bool:
        """Whether `conn` has a transaction open (to roll back after a failure)."""
        ...

    def recover(self, conn: Connection) -> None:
        """After a failed commit was rolled back, and at the first commit that succeeds after failures:
        give back what the failures held (SQLite's WAL), reopen what they lost (a PostgreSQL connection).
        Never raises: the next failure calls it again."""
        ...

    def is_corruption(self, exc: BaseException) -> bool:
        """Whether `exc` says the store's pages are damaged."""
        ...

    def close(self) -> None:
        """Release what the backend keeps between connections (after the writer closed)."""
        ...
