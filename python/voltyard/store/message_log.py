"""The bounded message log: every frame in and out, with direction, charger, action, message id and time.

The unit is an exchange: the frame that opened it and the frame that answered it (a charger's CALL and our
reply; our CALL and the charger's answer), recorded once the answer is known. Frames that open nothing
(unreadable, late answers) are exchanges without a reply. Frames are kept as the bytes that crossed the
wire.

Logging every frame of thousands of chargers must cost little per message, so exchanges are packed by the
native module as they come (`MessageLogBuffer.append`, one call per exchange, no Python objects kept) and
written, at each store hand-over, as one LZ4-compressed block per charger, compressed in the writer
thread: a block row holds that charger's exchanges of the interval. JSON frames of one charger repeat
themselves and compress several-fold, and a row per block instead of per frame divides SQLite's per-row
cost by the block size. Blocks written before version 4 of the store are zlib-compressed (`codec` 0); both
hold the same records. `query` decompresses and filters; `prune` keeps the log within its row and age
limits.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from voltyard._native import MessageLogBuffer, decompress_block
from voltyard.errors import LogBlockError
from voltyard.store.writer import StoreWriter

__all__ = ["CODEC_DEFLATE", "CODEC_LZ4", "Exchange", "MessageLog", "decode_block"]

log = logging.getLogger(__name__)

CODEC_DEFLATE = 0
CODEC_LZ4 = 1
_INSERT = (
    "INSERT INTO message_log (charger_id, first_time, last_time, count, actions, data, codec) "
    f"VALUES (?, ?, ?, ?, ?, ?, {CODEC_LZ4})"
)
# A packed record (written by voltyard-core's blocks::pack_exchange): time, reply_time (NaN: no reply),
# direction (0 in, 1 out), message_type, reply_type (-1: none), then the lengths of message_id, action,
# frame and reply, followed by those four byte strings.
_HEADER = struct.Struct("<ddBbbHHII")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One logged exchange, as `query` returns it."""

    charger_id: str
    direction: str
    time: float
    message_type: int | None
    message_id: str | None
    action: str | None
    frame: bytes
    reply_type: int | None
    reply: bytes | None
    reply_time: float | None


def _records(data: bytes, codec: int) -> bytes:
    if codec == CODEC_LZ4:
        return decompress_block(data)
    if codec == CODEC_DEFLATE:
        try:
            return zlib.decompress(data, -15)
        except zlib.error as exc:
            raise LogBlockError(f"corrupt deflate block: {exc}") from exc
    raise LogBlockError(f"unknown message-log block codec {codec}")


def decode_block(charger_id: str, data: bytes, codec: int = CODEC_LZ4) -> Iterator[Exchange]:
    """The exchanges of a block, oldest first."""
    raw = _records(data, codec)
    offset = 0
    while offset < len(raw):
        if offset + _HEADER.size > len(raw):
            raise LogBlockError(f"block of {charger_id} ends inside a record header at byte {offset}")
        opened, replied, out, mtype, rtype, n_id, n_act, n_frame, n_reply = _HEADER.unpack_from(raw, offset)
        offset += _HEADER.size
        if offset + n_id + n_act + n_frame + n_reply > len(raw):
            raise LogBlockError(f"block of {charger_id} ends inside a record at byte {offset}")
        mid = raw[offset : offset + n_id].decode(errors="replace")
        offset += n_id
        act = raw[offset : offset + n_act].decode(errors="replace")
        offset += n_act
        frame = raw[offset : offset + n_frame]
        offset += n_frame
        reply = raw[offset : offset + n_reply]
        offset += n_reply
        has_reply = rtype != -1
        yield Exchange(
            charger_id=charger_id,
            direction="out" if out else "in",
            time=opened,
            message_type=None if mtype == -1 else mtype,
            message_id=mid or None,
            action=act or None,
            frame=frame,
            reply_type=rtype if has_reply else None,
            reply=reply if has_reply else None,
            reply_time=replied if has_reply else None,
        )


class MessageLog:
    """Buffers exchanges and writes them as blocks; see the module docstring."""

    def __init__(self, store: StoreWriter, *, max_rows: int, max_age_days: float) -> None:
        self._store = store
        self._buffer = MessageLogBuffer()
        # `exchange(charger_id, direction, opened_at, frame, message_type, message_id, action, reply=None,
        # reply_type=None)` records one exchange, `reply` None when nothing answered `frame`: the native
        # method itself, so that the per-message call has no Python frame of its own.
        self.exchange = self._buffer.append
        # `answered(charger_id, received_at, frame, message_id, action, reply)`: the exchange of nearly
        # every message, a charger's CALL answered by our CALLRESULT; returns the seconds it took.
        self.answered = self._buffer.answered
        self.max_rows = max_rows
        self.max_age_days = max_age_days
        store.add_block_buffer(self._buffer, _INSERT)

    @staticmethod
    def query(
        conn: sqlite3.Connection,
        *,
        charger_id: str | None = None,
        action: str | None = None,
        direction: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Exchange]:
        """Exchanges matching every given filter, newest first, at most `limit`."""
        clauses: list[str] = ["1"]
        params: list[object] = []
        if charger_id is not None:
            clauses.append("charger_id = ?")
            params.append(charger_id)
        if since is not None:
            clauses.append("last_time >= ?")
            params.append(since)
        if until is not None:
            clauses.append("first_time <= ?")
            params.append(until)
        if action is not None:
            clauses.append("instr(',' || actions || ',', ?) > 0")
            params.append(f",{action},")
        found: list[Exchange] = []
        where = " AND ".join(clauses)
        sql = f"SELECT id, charger_id, data, codec FROM message_log WHERE {where} ORDER BY id DESC"
        for block_id, block_charger, data, codec in conn.execute(sql, params):
            try:
                exchanges = list(decode_block(block_charger, data, codec))
            except LogBlockError as exc:
                # One damaged block must not hide the rest of the log.
                log.error("message_log block %d of %s skipped: %s", block_id, block_charger, exc)
                continue
            for exchange in reversed(exchanges):
                if action is not None and exchange.action != action:
                    continue
                if direction is not None and exchange.direction != direction:
                    continue
                if (since is not None and exchange.time < since) or (
                    until is not None and exchange.time > until
                ):
                    continue
                found.append(exchange)
                if len(found) >= limit:
                    return found
        return found

    async def prune(self) -> int:
        """Delete blocks past the age limit or beyond the exchange limit (oldest first); returns how many."""
        max_rows, cutoff = self.max_rows, time.time() - self.max_age_days * 86400

        def work(conn: sqlite3.Connection) -> int:
            deleted = conn.execute("DELETE FROM message_log WHERE last_time < ?", (cutoff,)).rowcount
            kept = 0
            for block_id, count in conn.execute(
                "SELECT id, count FROM message_log ORDER BY id DESC"
            ).fetchall():
                kept += count
                if kept > max_rows:
                    deleted += conn.execute("DELETE FROM message_log WHERE id <= ?", (block_id,)).rowcount
                    break
            return int(deleted)

        return await self._store.durable(work)
