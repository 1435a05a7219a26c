"""The store's single writer thread, with group commit.

The connection under it is the configured backend's (voltyard.store.connection: SQLite's file, the
embedded default, or PostgreSQL); everything below holds for both.

Two kinds of writes reach it. Telemetry (message log, meter values, status history) is appended on the
event loop to in-memory batches, handed over every `commit_interval` seconds and committed in one
transaction: cheap per row, durable within the interval. Durable work (a StartTransaction's id, a
stop, a local-list change) is a function run in the thread; its future resolves only after the commit
that contains it has been fsynced (SQLite: WAL, synchronous=FULL; PostgreSQL: its COMMIT returned, the
server's WAL flushed). Everything queued while one commit runs goes into the next, so a burst of durable
writes shares one fsync.

Each unit of work runs under its own SAVEPOINT: one failing statement fails its own future and nothing
else in the group. Whatever a telemetry row or a unit of work raises (not only the driver's errors: a
Python int past 64 bits raises OverflowError while binding) costs that row or that unit alone; it is
counted in `rows_failed` and logged. A commit that fails costs its group, which is reported the same way.
One bad row once ended the thread and with it all storage (issue 17).

If the thread cannot open the store, `start` raises; if it ever ends for another reason, every write
waiting on it and every later one fails with StoreError at once, `stopped_error` says why, the callbacks
given to `when_stopped` run on the event loop (an alert; /health reports the store degraded), and one
clear line is logged. Nothing ever waits on a dead thread: that is what once made `voltyard serve` hang at
a read-only data directory, deaf to SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from voltyard.errors import StoreError
from voltyard.store.connection import Backend, Connection
from voltyard.store.db import SqliteBackend
from voltyard.store.health import StoreHealth

__all__ = ["BlockBuffer", "StoreWriter", "Work"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_FAILURE_LOG_EVERY_S = 60.0

Batch = dict[str, list[tuple[Any, ...]]]
Work = Callable[[Connection], Any]
# A collector hands over its own pending telemetry as a function to run in the writer thread, or None.
Collector = Callable[[], Work | None]


class _Blocks(Protocol):
    def blocks(self) -> Sequence[tuple[Any, ...]]: ...


class BlockBuffer(Protocol):
    """A native buffer of records packed into compressed blocks (`voltyard._native.MessageLogBuffer`,
    `MeterReadingBuffer`)."""

    def __len__(self) -> int: ...
    def take(self) -> _Blocks: ...


Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


class _Telemetry:
    """Queue item: telemetry work of a collector (no future: nobody waits on it)."""

    __slots__ = ("work",)

    def __init__(self, work: Work) -> None:
        self.work = work


class _Stop:
    """Queue sentinel: commit what came before, then end the thread."""


class StoreWriter:
    """Owns the only writing connection; see the module docstring for the two write paths."""

    def __init__(
        self, store: Path | Backend, *, commit_interval: float = 0.5, min_free_bytes: int = 0
    ) -> None:
        """`store`: the backend, or the path of an SQLite file."""
        self.backend: Backend = SqliteBackend(store) if isinstance(store, Path) else store
        # The SQLite file, None on a backend that is not a local file.
        self.path: Path | None = self.backend.path if isinstance(self.backend, SqliteBackend) else None
        self.where = self.backend.where
        self.commit_interval = commit_interval
        self.min_free_bytes = min_free_bytes  # less free on the data directory's volume: degraded
        self.commits = 0
        self.rows_failed = 0
        # The truth /health tells about the store (voltyard.store.health): written by the writer thread, read
        # on the loop; each is one attribute store, so a reader sees an old or a new value, never a torn one.
        self.commits_failed = 0
        self.last_commit_at: float | None = None  # unix seconds of the last successful commit
        self.last_failure: str | None = None  # why the last commit failed, while it is the latest outcome
        self.corrupt: str | None = (
            None  # the backend reported damaged pages (SQLITE_CORRUPT...): what it said
        )
        self._failure_logged_at = 0.0
        self._failures_unlogged = 0
        self._queue: queue.SimpleQueue[Batch | _Telemetry | tuple[Work, asyncio.Future[Any]] | _Stop] = (
            queue.SimpleQueue()
        )
        self._batch: Batch = {}
        self._latest: dict[str, dict[Any, tuple[Any, ...]]] = {}
        self._collectors: list[Collector] = []
        self._tick: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None
        # Why the thread ended, once it has (set in the thread before it returns).
        self._ended: BaseException | None = None
        self._stopped_callbacks: list[Callable[[BaseException], None]] = []

    async def start(self) -> None:
        """Open and migrate the store (in the writer thread), then start serving writes.

        Raises:
            StoreError: the store cannot be opened or migrated; no thread is left behind.
        """
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        thread = threading.Thread(target=self._run, args=(ready,), name="voltyard-store", daemon=True)
        thread.start()
        try:
            await ready
        except BaseException:
            # The thread returns right after reporting its failure: join it so that `close` and `durable`
            # see a writer that never started instead of waiting on one that is gone.
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
            self._loop = None
            raise
        self._thread = thread
        self._tick = self._loop.call_later(self.commit_interval, self._periodic_hand_over)

    @property
    def running(self) -> bool:
        """Whether the writer thread is alive and taking writes."""
        return self._thread is not None and self._thread.is_alive() and self._ended is None

    @property
    def stopped_error(self) -> BaseException | None:
        """Why the writer thread ended on its own (nothing is stored since), or None while it serves or
        after a clean `close`."""
        return self._ended

    def health(self) -> StoreHealth:
        """What the store's writer and its volume are doing now (cheap: one statvfs)."""
        free: int | None = None
        volume = self.backend.volume
        if volume is not None:
            try:
                stats = os.statvfs(volume)
                free = stats.f_bavail * stats.f_frsize
            except OSError:
                free = None
        stopped = self._ended
        return StoreHealth.judge(
            running=stopped is None,
            error=None if stopped is None else f"{type(stopped).__name__}: {stopped}",
            commits=self.commits,
            commits_failed=self.commits_failed,
            rows_failed=self.rows_failed,
            last_commit_at=self.last_commit_at,
            last_failure=self.last_failure,
            corrupt=self.corrupt,
            free_bytes=free,
            min_free_bytes=self.min_free_bytes,
        )

    def when_stopped(self, callback: Callable[[BaseException], None]) -> None:
        """Call `callback(error)` on the event loop if the writer thread ever ends on its own."""
        self._stopped_callbacks.append(callback)

    def append(self, sql: str, params: tuple[Any, ...]) -> None:
        """Queue a telemetry row; committed within `commit_interval` seconds. Never blocks."""
        rows = self._batch.get(sql)
        if rows is None:
            self._batch[sql] = [params]
        else:
            rows.append(params)

    def upsert(self, sql: str, key: object, params: tuple[Any, ...]) -> None:
        """Queue the current state of `key` as telemetry: of the rows a key gets in one commit interval only
        the latest is written (a connector's state, not its history), before that interval's `append`
        rows. Never blocks."""
        latest = self._latest.get(sql)
        if latest is None:
            self._latest[sql] = {key: params}
        else:
            latest[key] = params

    def add_collector(self, collector: Collector) -> None:
        """Ask `collector` for its pending telemetry at every hand-over."""
        self._collectors.append(collector)

    def add_block_buffer(self, buffer: BlockBuffer, insert_sql: str) -> None:
        """At every hand-over, take what `buffer` holds and write it as rows of `insert_sql`, one per
        block, compressed in the writer thread."""

        def collect() -> Work | None:
            if not len(buffer):
                return None
            taken = buffer.take()
            return lambda conn: conn.executemany(insert_sql, taken.blocks())

        self._collectors.append(collect)

    def durable(self, work: Callable[[Connection], T]) -> asyncio.Future[T]:
        """Run `work(conn)` in the writer thread; the future resolves once its commit is on disk."""
        if self._loop is None:
            raise StoreError(f"{self.where}: the store writer is not running")
        future: asyncio.Future[T] = self._loop.create_future()
        if not self.running:
            future.set_exception(self._dead_error())
            return future
        self._hand_over()  # telemetry received before this write is committed no later than it
        self._queue.put((work, future))
        if not self.running:  # the thread ended while we queued: nobody will take the write
            self._fail_queued()
        return future

    async def flush(self) -> None:
        """Wait until everything handed to the writer so far is committed."""
        await self.durable(lambda conn: None)

    async def close(self) -> None:
        """Commit what is pending and stop the thread (at once if it has already ended)."""
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        thread = self._thread
        if thread is None:
            return
        if self.running:
            try:
                await self.flush()
            except StoreError as exc:
                log.error("store: the last writes could not be committed: %s", exc)
            self._queue.put(_Stop())
        else:
            log.error(
                "store: closing a writer that had stopped (%s); writes since then were refused", self._ended
            )
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        self._thread = None
        self._fail_queued()
        self.backend.close()

    def _dead_error(self) -> StoreError:
        reason = f": {self._ended}" if self._ended is not None else ""
        return StoreError(f"{self.where}: the store writer has stopped{reason}")

    def _fail_queued(self) -> None:
        """Fail every durable write left in the queue of an ended thread (runs on the loop)."""
        error = self._dead_error()
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(job, tuple) and not job[1].done():
                job[1].set_exception(error)

    def _periodic_hand_over(self) -> None:
        # Every interval, busy or idle: buffers fill without telling the writer (that would cost a
        # call per message), and an idle hand-over with nothing pending queues nothing.
        assert self._loop is not None
        self._tick = self._loop.call_later(self.commit_interval, self._periodic_hand_over)
        self._hand_over()

    def _hand_over(self) -> None:
        if self._latest or self._batch:
            batch = {sql: list(rows.values()) for sql, rows in self._latest.items()}
            batch.update(self._batch)
            self._latest, self._batch = {}, {}
            self._queue.put(batch)
        for collect in self._collectors:
            work = collect()
            if work is not None:
                self._queue.put(_Telemetry(work))

    # --- writer thread -------------------------------------------------------------------------

    def _run(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None
        try:
            self._conn = self.backend.open_writer()
        except Exception as exc:  # handed to the starting coroutine
            failed: list[Outcome] = [(ready, None, exc)]
            self._loop.call_soon_threadsafe(_settle, failed)
            return
        opened: list[Outcome] = [(ready, None, None)]
        self._loop.call_soon_threadsafe(_settle, opened)
        stopping = False
        jobs: list[Batch | _Telemetry | tuple[Work, asyncio.Future[Any]] | _Stop] = []
        try:
            while not stopping:
                jobs = [self._queue.get()]
                while True:
                    try:
                        jobs.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stopping = any(isinstance(job, _Stop) for job in jobs)
                self._commit_group([job for job in jobs if not isinstance(job, _Stop)])
        except BaseException as exc:
            # A broken file or connection (a failed COMMIT that cannot even roll back) or an interrupt: the
            # writes of this group and every one queued behind it fail now, rather than their callers
            # waiting forever on a thread that is gone; and the operator is told, loudly.
            log.critical(
                "store writer stopped: %s: %s; nothing is stored from now on, every write is refused and "
                "/api/v1/health reports the store degraded; restart voltyard",
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            self._ended = exc
            error = self._dead_error()
            waiting: list[Outcome] = [(job[1], None, error) for job in jobs if isinstance(job, tuple)]
            self._loop.call_soon_threadsafe(_settle, waiting)
            self._loop.call_soon_threadsafe(self._fail_queued)
            self._loop.call_soon_threadsafe(self._report_stopped, exc)
        finally:
            self._conn.close()

    def _report_stopped(self, error: BaseException) -> None:
        for callback in self._stopped_callbacks:
            try:
                callback(error)
            except Exception:  # one failing listener must not keep the others from hearing of it
                log.exception("store: a listener of the writer's stop failed")

    def _commit_group(self, jobs: list[Batch | _Telemetry | tuple[Work, asyncio.Future[Any]]]) -> None:
        assert self._conn is not None
        assert self._loop is not None
        conn, backend = self._conn, self.backend
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute(backend.begin)
            for job in jobs:
                if isinstance(job, dict):
                    self._write_batch(conn, job)
                elif isinstance(job, _Telemetry):
                    _, error = self._run_work(conn, job.work)
                    if error is not None:
                        self.rows_failed += 1
                        self.note_corruption(error)
                        log.error("telemetry write failed: %s", error)
                else:
                    work, future = job
                    result, error = self._run_work(conn, work)
                    self.note_corruption(error)
                    outcomes.append((future, result, error))
            conn.execute("COMMIT")
            self.commits += 1
            self.last_commit_at = time.time()
            if self.last_failure is not None:
                # The first commit after failures (a disk that was full has room again): give the space
                # the WAL took back now, before it grows again (see db.reclaim_wal).
                self.last_failure = None
                backend.recover(conn)
                log.warning("store: commits succeed again")
        except Exception as exc:
            # Not only the driver's errors: whatever fails a group costs that group, never the thread.
            self.rows_failed += 1
            self.commits_failed += 1
            failed = StoreError(f"{self.where}: commit failed: {exc}")
            # Every durable write of the group, run or not yet run when it failed: none is left waiting.
            outcomes = [(job[1], None, failed) for job in jobs if isinstance(job, tuple)]
            now = time.monotonic()
            if self.last_failure is None:  # the first of a run of failures: loud, with its traceback
                log.exception("store commit failed; %d durable writes fail with it", len(outcomes))
                self._failure_logged_at, self._failures_unlogged = now, 0
            else:
                # A disk stays full for minutes and a group fails every commit interval: a line a minute
                # with the count, not two a second (/health and the runtime's alert say it already).
                self._failures_unlogged += 1
                if now - self._failure_logged_at >= _FAILURE_LOG_EVERY_S:
                    log.error(
                        "store commits still failing (%s); %d more failed groups in the last %.0f s",
                        exc, self._failures_unlogged, now - self._failure_logged_at,
                    )  # fmt: skip
                    self._failure_logged_at, self._failures_unlogged = now, 0
            self.last_failure = f"{type(exc).__name__}: {exc}"
            self.note_corruption(exc)
            if backend.in_transaction(conn):
                conn.execute("ROLLBACK")
            backend.recover(conn)
        if outcomes:
            self._loop.call_soon_threadsafe(_settle, outcomes)

    def note_corruption(self, error: BaseException | None) -> None:
        """Damaged pages met by a write here or by a read of the API: /health says so until a restart (whose
        integrity check then refuses the store), whatever else still succeeds."""
        if error is not None and self.backend.is_corruption(error):
            if self.corrupt is None:
                log.critical(
                    "store: the database reports damaged pages: %s; restore the store from a backup", error
                )
            self.corrupt = str(error)

    @staticmethod
    def _run_work(conn: Connection, work: Work) -> tuple[Any, BaseException | None]:
        conn.execute("SAVEPOINT work")
        try:
            result = work(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO work")
            conn.execute("RELEASE work")
            return None, exc
        conn.execute("RELEASE work")
        return result, None

    def _write_batch(self, conn: Connection, batch: Batch) -> None:
        for sql, rows in batch.items():
            conn.execute("SAVEPOINT batch")
            try:
                conn.executemany(sql, rows)
            except Exception:  # the driver's, or OverflowError/TypeError/ValueError while binding a value
                # One bad row must not cost the others: retry them one by one, each under its own
                # savepoint (PostgreSQL refuses every statement of a transaction after a failed one until
                # it is rolled back to a savepoint).
                conn.execute("ROLLBACK TO batch")
                for row in rows:
                    conn.execute("SAVEPOINT row")
                    try:
                        conn.execute(sql, row)
                        conn.execute("RELEASE row")
                    except Exception as exc:
                        conn.execute("ROLLBACK TO row")
                        conn.execute("RELEASE row")
                        self.rows_failed += 1
                        self.note_corruption(exc)
                        log.error(
                            "telemetry row refused by the store (%s: %s): %s",
                            type(exc).__name__,
                            exc,
                            sql.split("(", 1)[0].strip(),
                        )
            conn.execute("RELEASE batch")


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
