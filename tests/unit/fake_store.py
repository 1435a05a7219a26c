"""A socket-free, thread-free stand-in for `StoreWriter` for the domain services' unit tests.

It holds a real, migrated SQLite file (the store functions of `voltyard.store` are the layer below the domain,
and run as they do in the appliance), but a durable write runs at once, in its own transaction, on the
calling thread; telemetry rows wait until `commit_telemetry`. `fail_next_write` makes the next durable write
fail the way a failed commit does, so a test can check that the domain changes nothing when the store did
not.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from voltyard.errors import StoreError
from voltyard.events.bus import EventBus
from voltyard.events.kinds import Event
from voltyard.store.db import connect, migrate

T = TypeVar("T")


class FakeStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect(path)
        migrate(self.conn, path)
        self.telemetry: list[tuple[str, tuple[Any, ...]]] = []
        self.latest: dict[tuple[str, object], tuple[Any, ...]] = {}
        self.durable_writes = 0
        self._buffers: list[tuple[Any, str]] = []
        self._collectors: list[Callable[[], Callable[[sqlite3.Connection], Any] | None]] = []
        self._fail: str | None = None

    def close(self) -> None:
        self.conn.close()

    def fail_next_write(self, why: str = "disk full") -> None:
        self._fail = why

    def durable(self, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.durable_writes += 1
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(self.conn)
            if self._fail is not None:
                raise StoreError(f"{self.path}: commit failed: {self._fail}")
        except Exception as exc:
            self.conn.execute("ROLLBACK")
            self._fail = None
            future.set_exception(exc)
            return future
        self.conn.execute("COMMIT")
        future.set_result(result)
        return future

    def append(self, sql: str, params: tuple[Any, ...]) -> None:
        self.telemetry.append((sql, params))

    def upsert(self, sql: str, key: object, params: tuple[Any, ...]) -> None:
        self.latest[sql, key] = params

    def add_block_buffer(self, buffer: Any, insert_sql: str) -> None:
        self._buffers.append((buffer, insert_sql))

    def add_collector(self, collector: Callable[[], Callable[[sqlite3.Connection], Any] | None]) -> None:
        self._collectors.append(collector)

    def commit_telemetry(self) -> None:
        """What the writer does at a hand-over: the latest upserts, the appended rows, the native blocks, the
        collectors' work."""
        with self.conn:
            for buffer, sql in self._buffers:
                if len(buffer):
                    self.conn.executemany(sql, buffer.take().blocks())
            for collect in self._collectors:
                work = collect()
                if work is not None:
                    work(self.conn)
            for (sql, _), params in self.latest.items():
                self.conn.execute(sql, params)
            for sql, params in self.telemetry:
                self.conn.execute(sql, params)
        self.latest.clear()
        self.telemetry.clear()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, params))


class Heard:
    """The events an `EventBus` delivered to its subscribers, in order."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        bus.subscribe(self.events.append)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]


def event_bus(store: FakeStore) -> EventBus:
    return EventBus(store, asyncio.get_running_loop())  # type: ignore[arg-type]
