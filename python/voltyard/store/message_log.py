"""The bounded message log: every frame in and out, with direction, charger, action, message id and time.

Rows are appended as telemetry (committed within the commit interval). Frames are stored as the bytes
that crossed the wire (a BLOB; `CAST(frame AS TEXT)` reads them), so logging costs no decoding. The
log is pruned to its row and age limits by `prune`, which the runtime runs periodically.
"""

from __future__ import annotations

import sqlite3
import time

from voltyard.store.writer import StoreWriter

__all__ = ["MessageLog"]

_INSERT = (
    "INSERT INTO message_log (time, charger_id, direction, message_type, message_id, action, frame) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class MessageLog:
    """Appends frames to the store; see the module docstring."""

    def __init__(self, store: StoreWriter, *, max_rows: int, max_age_days: float) -> None:
        self._append = store.append
        self._store = store
        self.max_rows = max_rows
        self.max_age_days = max_age_days

    def incoming(
        self,
        charger_id: str,
        frame: bytes,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
    ) -> None:
        self._append(_INSERT, (time.time(), charger_id, "in", message_type, message_id, action, frame))

    def outgoing(
        self, charger_id: str, frame: bytes, message_type: int, message_id: str, action: str | None
    ) -> None:
        self._append(_INSERT, (time.time(), charger_id, "out", message_type, message_id, action, frame))

    async def prune(self) -> int:
        """Delete rows beyond the row limit or older than the age limit; returns how many went."""
        max_rows, cutoff = self.max_rows, time.time() - self.max_age_days * 86400

        def work(conn: sqlite3.Connection) -> int:
            deleted = conn.execute("DELETE FROM message_log WHERE time < ?", (cutoff,)).rowcount
            (newest,) = conn.execute("SELECT coalesce(max(id), 0) FROM message_log").fetchone()
            deleted += conn.execute("DELETE FROM message_log WHERE id <= ?", (newest - max_rows,)).rowcount
            return int(deleted)

        return await self._store.durable(work)
