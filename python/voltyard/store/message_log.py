"""The bounded message log: every frame in and out, with direction, charger, action, message id and time.

The unit is an exchange: the frame that opened it and the frame that answered it (a charger's CALL and our
reply; our CALL and the charger's answer), recorded once the answer is known. Frames that open nothing
(unreadable, late answers) are exchanges without a reply. Frames are kept as the bytes that crossed the
wire.

Logging every frame of thousands of chargers must cost little per message, so exchanges are buffered on the
event loop and written, at each store hand-over, as one zlib-compressed block per charger: a block row
holds that charger's exchanges of the interval. JSON frames of one charger repeat themselves and compress
about tenfold, and a row per block instead of per frame divides SQLite's per-row cost by the block size.
`query` decompresses and filters; `prune` keeps the log within its row and age limits.
"""

from __future__ import annotations

import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from voltyard.store.writer import StoreWriter, Work

__all__ = ["Exchange", "MessageLog", "decode_block", "encode_block"]

_INSERT = (
    "INSERT INTO message_log (charger_id, first_time, last_time, count, actions, data) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
# time, reply_time (NaN: no reply), direction (0 in, 1 out), message_type, reply_type (-1: none), then the
# lengths of message_id, action, frame and reply.
_HEADER = struct.Struct("<ddBbbHHII")
_NO_REPLY = float("nan")

Pending = tuple[str, str, float, bytes, int | None, str | None, str | None, bytes | None, int | None, float]


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


def encode_block(exchanges: list[Pending]) -> bytes:
    """Pack one charger's exchanges (as buffered by `MessageLog.exchange`) into a compressed block."""
    parts: list[bytes] = []
    for (
        _,
        direction,
        opened,
        frame,
        message_type,
        message_id,
        action,
        reply,
        reply_type,
        replied,
    ) in exchanges:
        mid = (message_id or "").encode()
        act = (action or "").encode()
        rep = reply or b""
        parts.append(
            _HEADER.pack(
                opened,
                replied if reply is not None else _NO_REPLY,
                direction == "out",
                -1 if message_type is None else message_type,
                -1 if reply is None or reply_type is None else reply_type,
                len(mid),
                len(act),
                len(frame),
                len(rep),
            )
        )
        parts += (mid, act, frame, rep)
    # Raw deflate at level 1: the fastest zlib setting, without the adler32 pass a zlib header needs.
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    return packer.compress(b"".join(parts)) + packer.flush()


def decode_block(charger_id: str, data: bytes) -> Iterator[Exchange]:
    """The exchanges of a block, oldest first."""
    raw = zlib.decompress(data, -15)
    offset = 0
    while offset < len(raw):
        opened, replied, out, mtype, rtype, n_id, n_act, n_frame, n_reply = _HEADER.unpack_from(raw, offset)
        offset += _HEADER.size
        mid = raw[offset : offset + n_id].decode()
        offset += n_id
        act = raw[offset : offset + n_act].decode()
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
        self._pending: list[Pending] = []
        self.max_rows = max_rows
        self.max_age_days = max_age_days
        store.add_collector(self._collect)

    def exchange(  # noqa: PLR0917 - one flat call per message on the hot path
        self,
        charger_id: str,
        direction: str,
        opened_at: float,
        frame: bytes,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        reply: bytes | None = None,
        reply_type: int | None = None,
    ) -> None:
        """Record one exchange; `reply` None when nothing answered `frame`."""
        pending = self._pending
        pending.append(
            (
                charger_id,
                direction,
                opened_at,
                frame,
                message_type,
                message_id,
                action,
                reply,
                reply_type,
                time.time(),
            )
        )
        if len(pending) == 1:
            self._store.wake()

    def _collect(self) -> Work | None:
        if not self._pending:
            return None
        pending, self._pending = self._pending, []

        def work(conn: sqlite3.Connection) -> None:
            by_charger: dict[str, list[Pending]] = {}
            for exchange in pending:
                by_charger.setdefault(exchange[0], []).append(exchange)
            conn.executemany(
                _INSERT,
                [
                    (charger_id, rows[0][2], rows[-1][2], len(rows),
                     ",".join(sorted({row[6] for row in rows if row[6]})), encode_block(rows))
                    for charger_id, rows in by_charger.items()
                ],
            )  # fmt: skip

        return work

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
        sql = f"SELECT charger_id, data FROM message_log WHERE {' AND '.join(clauses)} ORDER BY id DESC"
        for block_charger, data in conn.execute(sql, params):
            for exchange in reversed(list(decode_block(block_charger, data))):
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
