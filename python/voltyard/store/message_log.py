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
hold the same records. `walk` decompresses and filters, newest first, in keyset pages from a `Position`
(the API's cursor), and is meant to run off the event loop (the API runs it in a thread); `prune` keeps
the log within its row and age limits.
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from voltyard._native import MessageLogBuffer, decompress_block, unpack_exchanges
from voltyard.errors import LogBlockError
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = ["CODEC_DEFLATE", "CODEC_LZ4", "Exchange", "LogFilter", "MessageLog", "Position", "decode_block"]

log = logging.getLogger(__name__)

CODEC_DEFLATE = 0
CODEC_LZ4 = 1
_INSERT = (
    "INSERT INTO message_log (charger_id, first_time, last_time, count, actions, data, codec) "
    f"VALUES (?, ?, ?, ?, ?, ?, {CODEC_LZ4})"
)
# Blocks per keyset page of `MessageLog.walk`: a block holds one charger's exchanges of one commit interval
# (a few to a few hundred), so a page is small, and each page is a short statement of its own.
_BLOCKS_PER_READ = 32
_NEWEST = 2**63 - 1
# A block id (an SQLite rowid, so below 2**63) and an index within the block.
_CURSOR = re.compile(r"([0-9]{1,18})\.([0-9]{1,9})")


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What `MessageLog.walk` keeps: every field that is not None must match (times in unix seconds,
    both ends included)."""

    charger_id: str | None = None
    action: str | None = None
    direction: str | None = None
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where a newest-first walk of the log stands: exchange `index` (0 the newest) of block `block`.

    Its text form, `<block>.<index>`, is the API's cursor; blocks are never rewritten, so it stays exact.
    """

    block: int
    index: int

    def text(self) -> str:
        return f"{self.block}.{self.index}"

    @classmethod
    def parse(cls, text: str) -> Position:
        """The position a cursor names; ValueError when `text` is not one."""
        match = _CURSOR.fullmatch(text)
        if match is None:
            raise ValueError(f"not a message-log cursor: {text!r}")
        return cls(int(match[1]), int(match[2]))


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
    """The exchanges of a block, oldest first (the records are decoded natively, voltyard-core's blocks)."""
    try:
        exchanges = unpack_exchanges(_records(data, codec))
    except LogBlockError as exc:
        raise LogBlockError(f"block of {charger_id}: {exc}") from exc
    for out, opened, mtype, mid, act, frame, rtype, reply, replied in exchanges:
        yield Exchange(
            charger_id=charger_id,
            direction="out" if out else "in",
            time=opened,
            message_type=mtype,
            message_id=mid or None,
            action=act or None,
            frame=frame,
            reply_type=rtype,
            reply=reply,
            reply_time=replied,
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
    def walk(
        conn: Connection, where: LogFilter, start: Position | None = None
    ) -> Generator[tuple[Position, Exchange]]:
        """Exchanges matching `where`, newest first, from `start` on (the newest when None), each with its
        position.

        Blocks are read in keyset pages (`id < last seen id`, a few dozen blocks each) in statements of
        their own: no read transaction stays open between pages, so a long walk keeps neither the WAL from
        being checkpointed nor more than one page in memory. Blocks are never rewritten, so a position stays
        valid until pruning deletes its block; a walk started then goes on with the older blocks that remain.
        """
        clauses: list[str] = ["id <= ?"]
        params: list[object] = [start.block if start is not None else _NEWEST]
        if where.charger_id is not None:
            clauses.append("charger_id = ?")
            params.append(where.charger_id)
        if where.since is not None:
            clauses.append("last_time >= ?")
            params.append(where.since)
        if where.until is not None:
            clauses.append("first_time <= ?")
            params.append(where.until)
        if where.action is not None:
            clauses.append("instr(',' || actions || ',', ?) > 0")
            params.append(f",{where.action},")
        sql = (
            f"SELECT id, charger_id, data, codec FROM message_log WHERE {' AND '.join(clauses)} "
            f"ORDER BY id DESC LIMIT {_BLOCKS_PER_READ}"
        )
        action, direction, since, until = where.action, where.direction, where.since, where.until
        skip_in = start
        while True:
            rows = conn.execute(sql, params).fetchall()
            for block_id, block_charger, data, codec in rows:
                try:
                    exchanges = list(decode_block(block_charger, data, codec))
                except LogBlockError as exc:
                    # One damaged block must not hide the rest of the log.
                    log.error("message_log block %d of %s skipped: %s", block_id, block_charger, exc)
                    continue
                first = skip_in.index if skip_in is not None and skip_in.block == block_id else 0
                exchanges.reverse()
                for index in range(first, len(exchanges)):
                    exchange = exchanges[index]
                    if action is not None and exchange.action != action:
                        continue
                    if direction is not None and exchange.direction != direction:
                        continue
                    if (since is not None and exchange.time < since) or (
                        until is not None and exchange.time > until
                    ):
                        continue
                    yield Position(block_id, index), exchange
            if len(rows) < _BLOCKS_PER_READ:
                return
            params[0] = rows[-1][0] - 1
            skip_in = None

    @staticmethod
    def page(
        conn: Connection, where: LogFilter, start: Position | None, limit: int
    ) -> tuple[list[Exchange], Position | None]:
        """At most `limit` exchanges of `walk`, and the position of the next match (None: there is none)."""
        found: list[Exchange] = []
        for position, exchange in MessageLog.walk(conn, where, start):
            if len(found) == limit:
                return found, position
            found.append(exchange)
        return found, None

    @staticmethod
    def query(
        conn: Connection,
        *,
        charger_id: str | None = None,
        action: str | None = None,
        direction: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Exchange]:
        """Exchanges matching every given filter, newest first, at most `limit`."""
        where = LogFilter(charger_id, action, direction, since, until)
        return MessageLog.page(conn, where, None, limit)[0]

    async def prune(self) -> int:
        """Delete blocks past the age limit or beyond the exchange limit (oldest first); returns how many."""
        max_rows, cutoff = self.max_rows, time.time() - self.max_age_days * 86400

        def work(conn: Connection) -> int:
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
