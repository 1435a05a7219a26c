"""The PostgreSQL store backend (`[store] backend = "postgresql"`): psycopg 3, synchronous, under the same
writer thread as SQLite's (voltyard.store.writer): one writing connection with group commit, durable work
resolved after its COMMIT, telemetry batched: a plain INSERT's rows go in one COPY stream (`copy_sql`), an
upsert's through `executemany`, which psycopg pipelines (one round trip per batch, not per row).

The store's SQL is written once with `?` parameters (voltyard.store.connection); `PgConnection` turns each
SQL string into psycopg's `%s` style once (cached), and dumps Python booleans as integers (the schema keeps
SQLite's 0/1 integer columns, and `clock_skew | ?` stays integer arithmetic).

Migrations are PostgreSQL's own history (store/migrations_postgresql/NNNN_*.sql), recorded in
`schema_version`; each is applied in one transaction under an advisory lock (two nodes starting at once do
not both migrate), and a database of a newer schema is refused untouched, as for SQLite.

A URL is never written out with its password: `redact` (config.redacted_url) replaces it with `***`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import pq
from psycopg.types.numeric import Int8Dumper

from voltyard.config import redacted_url as redact
from voltyard.errors import StoreError, StoreUnreachableError, StoreUnusableError
from voltyard.store.connection import Connection, Cursor

__all__ = [
    "CONNECT_TIMEOUT_S",
    "PgConnection",
    "PostgresBackend",
    "copy_sql",
    "migrate",
    "migrations",
    "pg_sql",
    "redact",
    "schema_version",
]

log = logging.getLogger(__name__)

# A server that does not answer (a firewall dropping packets) fails the start after this, never hangs it.
CONNECT_TIMEOUT_S = 5
# Readers' connections kept open for the next request, at most.
_IDLE_READERS = 4
# Taken while migrating: of nodes starting together, one migrates and the others then find it done.
_MIGRATION_LOCK = 0x766F6C74  # "volt"


@functools.lru_cache(maxsize=4096)
def pg_sql(sql: str) -> tuple[str, tuple[int, ...] | None]:  # noqa: PLR0912 - one scanner, one branch per token
    """`sql` in psycopg's parameter style, and the order of the parameters to pass (None: as given).

    `?` becomes `%s`; `?N` (SQLite's numbered parameter, 1-based) becomes `%s` with parameter N-1 at that
    place, so a parameter used twice is passed twice; `%` becomes `%%`. Nothing changes inside string
    literals, quoted identifiers and comments. Mixing `?` and `?N` in one statement is refused (ValueError),
    as SQLite's meaning of it is easy to get wrong.
    """
    out: list[str] = []
    order: list[int] = []
    plain = numbered = False
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # a doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif char == "?":
            end = i + 1
            while end < n and sql[end].isdigit():
                end += 1
            if end > i + 1:
                numbered = True
                order.append(int(sql[i + 1 : end]) - 1)
            else:
                plain = True
                order.append(len(order))
            out.append("%s")
            i = end
        elif char == "%":
            out.append("%%")
            i += 1
        else:
            out.append(char)
            i += 1
    if plain and numbered:
        raise ValueError(f"SQL mixes ? and ?N parameters: {sql}")
    return "".join(out), tuple(order) if numbered else None


_PLAIN_INSERT = re.compile(
    r"\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)\s*", re.IGNORECASE
)


@functools.lru_cache(maxsize=1024)
def copy_sql(sql: str) -> str | None:
    """The COPY statement that does what `sql` does for many rows, when it is a plain INSERT whose values
    are all `?` parameters, one per column (no ON CONFLICT, no RETURNING, no literals); else None."""
    match = _PLAIN_INSERT.fullmatch(sql)
    if match is None:
        return None
    columns = [column.strip() for column in match[2].split(",")]
    if sql.count("?") != len(columns):
        return None
    return f"COPY {match[1]} ({', '.join(columns)}) FROM STDIN"


def _arrange(order: tuple[int, ...] | None, parameters: Sequence[Any]) -> Sequence[Any]:
    return parameters if order is None else [parameters[index] for index in order]


class PgConnection:
    """A psycopg connection that takes the store's SQL (`?` parameters); autocommit, so that transactions
    are the writer's explicit BEGIN ... COMMIT and a reader holds none between statements."""

    def __init__(
        self,
        dsn: str,
        *,
        readonly: bool = False,
        raw: psycopg.Connection[Any] | None = None,
        release: Callable[[psycopg.Connection[Any]], None] | None = None,
    ) -> None:
        """A new connection to `dsn`, or `raw` when given; `close` hands it to `release` if given (a pool)
        rather than closing it."""
        self.dsn = dsn
        self.readonly = readonly
        self.raw = raw if raw is not None else _open(dsn, readonly=readonly)
        self._release = release

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        text, order = pg_sql(sql)
        return self.raw.execute(text, _arrange(order, parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cursor = self.raw.cursor()
        copy = copy_sql(sql)
        if copy is not None:
            # A plain INSERT of parameters: COPY takes the rows in one stream, several times cheaper per
            # row than even a pipelined executemany (the telemetry batches: history, events, meter blocks).
            with cursor.copy(copy) as stream:
                for row in parameters:
                    stream.write_row(row)
            return cursor
        text, order = pg_sql(sql)
        rows = parameters if order is None else [_arrange(order, row) for row in parameters]
        cursor.executemany(text, rows)
        return cursor

    def script(self, sql: str) -> None:
        """Run several statements as they are (no parameters, no rewriting): a migration."""
        self.raw.execute(sql.encode())

    @property
    def broken(self) -> bool:
        return self.raw.closed or self.raw.broken

    def reconnect(self) -> None:
        """Replace a connection that was lost (the server restarted) with a new one.

        Raises:
            StoreError: the server is still unreachable.
        """
        fresh = _open(self.dsn, readonly=self.readonly)
        self.raw.close()
        self.raw = fresh

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release(self.raw)
        else:
            self.raw.close()


def _open(dsn: str, *, readonly: bool) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        raise StoreUnreachableError(
            f"{redact(dsn)}: cannot connect to PostgreSQL: {_reason(exc, dsn)}"
        ) from exc
    except ValueError as exc:  # psycopg: not a DSN it can parse
        raise StoreUnreachableError(f"{redact(dsn)}: not a PostgreSQL URL: {_reason(exc, dsn)}") from exc
    # The schema keeps SQLite's integer 0/1 flags: a Python bool is stored as one.
    conn.adapters.register_dumper(bool, Int8Dumper)
    if readonly:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    return conn


def _reusable(raw: psycopg.Connection[Any]) -> bool:
    return not raw.closed and not raw.broken and raw.info.transaction_status == pq.TransactionStatus.IDLE


def _reason(exc: BaseException, dsn: str) -> str:
    """What the driver said, on one line, without the password should it quote the URL."""
    text = " ".join(str(exc).split())
    password = _password(dsn)
    return text.replace(password, "***") if password else text


def _password(dsn: str) -> str | None:
    try:
        return urlsplit(dsn).password
    except ValueError:
        return None


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every PostgreSQL migration shipped with the package, in order."""
    found = []
    for entry in resources.files("voltyard.store").joinpath("migrations_postgresql").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


@functools.cache
def schema_version() -> int:
    """The newest PostgreSQL schema version this build knows (its last migration)."""
    available = migrations()
    return available[-1][0] if available else 0


_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""


def _current(conn: PgConnection) -> int:
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: PgConnection) -> int:
    """Bring the database to the newest schema version; returns it.

    Raises:
        StoreUnusableError: the database was written by a newer voltyard; it is left untouched.
        StoreError: a migration failed (the database stays at the version before it).
    """
    where = redact(conn.dsn)
    newest = schema_version()
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        conn.execute(_VERSION_TABLE)
        current = _current(conn)
        conn.execute("COMMIT")
    except psycopg.Error as exc:
        _rollback(conn)
        raise StoreError(f"{where}: cannot read the schema version: {_reason(exc, conn.dsn)}") from exc
    if current > newest:
        raise StoreUnusableError(
            f"{where}: the store was written by a newer voltyard (schema {current}, this build knows "
            f"{newest}); run that version or a later one, or restore a backup of this version's store"
        )
    for version, name, sql in migrations():
        if version <= current:
            continue
        try:
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            if _current(conn) >= version:  # another node applied it while we waited for the lock
                conn.execute("COMMIT")
                continue
            conn.script(sql)
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, time.time()),
            )
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            _rollback(conn)
            raise StoreError(f"{where}: migration {name} failed: {_reason(exc, conn.dsn)}") from exc
        current = version
    return current


def _rollback(conn: PgConnection) -> None:
    if not conn.broken and conn.raw.info.transaction_status != pq.TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):
            conn.raw.execute("ROLLBACK")


class PostgresBackend:
    """The PostgreSQL store: see the module docstring."""

    begin = "BEGIN"
    volume: Path | None = None

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.where = redact(dsn)
        # Readers' connections kept open between requests: the API opens one per request, and a new
        # PostgreSQL connection costs milliseconds (a TCP handshake, a login, a server process).
        self._idle: list[psycopg.Connection[Any]] = []
        self._idle_lock = threading.Lock()
        self._closed = False

    def open_writer(self) -> Connection:
        conn = PgConnection(self.dsn)
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def open_reader(self) -> Connection:
        with self._idle_lock:
            while self._idle:
                raw = self._idle.pop()
                if _reusable(raw):
                    return PgConnection(self.dsn, readonly=True, raw=raw, release=self._release)
                raw.close()
        return PgConnection(self.dsn, readonly=True, release=self._release)

    def _release(self, raw: psycopg.Connection[Any]) -> None:
        with self._idle_lock:
            if not self._closed and len(self._idle) < _IDLE_READERS and _reusable(raw):
                self._idle.append(raw)
                return
        raw.close()

    def close(self) -> None:
        """Close the idle readers' connections (at the end: the writer is closed)."""
        with self._idle_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()

    def in_transaction(self, conn: Connection) -> bool:
        assert isinstance(conn, PgConnection)
        status = conn.raw.info.transaction_status
        return status in {pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR}

    def recover(self, conn: Connection) -> None:
        """After a failed commit: a connection that was lost is opened again (the server restarted), so
        that the store recovers without a restart of voltyard. Never raises: the next failure retries."""
        assert isinstance(conn, PgConnection)
        if conn.broken:
            try:
                conn.reconnect()
                log.warning("store: reconnected to %s", self.where)
            except StoreError as exc:
                log.debug("store: reconnecting failed: %s", exc)

    def is_corruption(self, exc: BaseException) -> bool:
        # PostgreSQL's data_corrupted (XX001) and index_corrupted (XX002).
        return isinstance(exc, psycopg.Error) and exc.sqlstate in {"XX001", "XX002"}
