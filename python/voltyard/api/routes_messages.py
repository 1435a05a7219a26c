"""/messages: the message log with filters, a page at a time, and its export as JSON or CSV.

Reading the log means decompressing blocks and building rows, tens of thousands of them for an export: all
of it runs in a worker thread, on a read connection of its own, so that chargers are answered while it
runs. An export is streamed: the thread reads and serialises a chunk of rows, the handler writes it to the
client (waiting while the client is slower than the log), then asks for the next, so memory stays bounded
whatever the row count.

Times are ISO 8601 UTC with milliseconds and a `Z`, in and out (docs/api.md "Times"). The formatting and
parsing live here for now; the rest of the API has its own, to be merged into one module.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import threading
from collections.abc import Generator

import orjson
from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.api.keys import READER, Reader
from voltyard.api.params import query_int, query_str, query_time
from voltyard.api.views import Message, MessagePage, optional_time
from voltyard.ocpp.timefmt import iso_utc
from voltyard.store.connection import Connection
from voltyard.store.message_log import Exchange, LogFilter, MessageLog, Position

__all__ = ["routes"]

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

_FIELDS = ("time", "charger_id", "direction", "message_type", "message_id", "action", "frame", "reply_type",
           "reply", "reply_time")  # fmt: skip
# Rows per chunk of an export: one worker-thread call and one write to the client each. Small enough that
# a chunk (a few hundred KB of JSON) is cheap to hold and to write, large enough that the hand-overs
# between the thread and the loop cost nothing next to the rows.
_CHUNK_ROWS = 500
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TRUNCATED_HEADER = "X-Voltyard-Truncated"
NEXT_CURSOR_HEADER = "X-Voltyard-Next-Cursor"


def _csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text, never runs: a string starting with = + - @, a tab or a CR
    gets a leading single quote (OWASP, "CSV Injection"). A charger id, message id or action comes from a
    charger (the id charset allows = + - @), and a spreadsheet opening the export once ran it as a formula.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def message_view(exchange: Exchange) -> Message:
    """A `Message` of docs/api.md: one exchange, its frames as text, its times ISO."""
    return {
        "charger_id": exchange.charger_id,
        "direction": exchange.direction,
        "time": iso_utc(exchange.time),
        "message_type": exchange.message_type,
        "message_id": exchange.message_id,
        "action": exchange.action,
        "frame": exchange.frame.decode("utf-8", "replace"),
        "reply_type": exchange.reply_type,
        "reply": None if exchange.reply is None else exchange.reply.decode("utf-8", "replace"),
        "reply_time": optional_time(exchange.reply_time),
    }


def _filter(request: web.Request) -> LogFilter:
    since, until = query_time(request, "since"), query_time(request, "until")
    return LogFilter(
        charger_id=query_str(request, "charger_id"),
        action=query_str(request, "action"),
        direction=query_str(request, "direction", ("in", "out")),
        # Times are shown to the nearest millisecond, so a shown time stands for the half millisecond
        # either side of it: `since` or `until` equal to a row's own `time` includes that row.
        since=None if since is None else since - 0.0005,
        until=None if until is None else until + 0.0005,
    )


def _cursor(request: web.Request) -> Position | None:
    raw = request.query.get("cursor")
    if raw is None:
        return None
    try:
        return Position.parse(raw)
    except ValueError:
        raise ApiError(
            400, "bad_request", f"cursor: {raw!r} is not a cursor this API gave (use a `next` value)"
        ) from None


@routes.get("/api/v1/messages")
async def list_messages(request: web.Request) -> web.Response:
    where, start = _filter(request), _cursor(request)
    limit = query_int(request, "limit", 100, 1, 5000)
    reader = request.app[READER]

    def read() -> MessagePage:
        conn = reader()
        try:
            found, following = MessageLog.page(conn, where, start, limit)
        finally:
            conn.close()
        return {
            "items": [message_view(e) for e in found],
            "next": None if following is None else following.text(),
        }

    return web.json_response(await asyncio.to_thread(read))


class _Export:
    """One export's reading and serialising, called chunk by chunk from worker threads.

    The calls of one export never overlap (the lock), and `close` waits for a call still running in a
    thread when the client went away, so the connection is never closed under a running read.
    """

    def __init__(self, reader: Reader, where: LogFilter, start: Position | None, kind: str) -> None:
        self._reader = reader
        self._where = where
        self._start = start
        self._kind = kind
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._rows: Generator[tuple[Position, Exchange]] | None = None
        self._left: int | None = None
        self.sent = 0
        self.following: Position | None = None

    def open(self, limit: int | None) -> bytes:
        """Open the read connection; with `limit`, find where the export stops (and so whether it is
        truncated: `following`). Returns the document's head."""
        with self._lock:
            self._conn = self._reader()
            if limit is not None:
                walk = MessageLog.walk(self._conn, self._where, self._start)
                for seen, (position, _) in enumerate(walk):
                    if seen == limit:
                        self.following = position
                        break
                walk.close()
                self._left = limit
            self._rows = MessageLog.walk(self._conn, self._where, self._start)
            if self._kind == "json":
                return b'{"items": [\n'
            out = io.StringIO()
            csv.writer(out).writerow(_FIELDS)
            return out.getvalue().encode()

    def chunk(self) -> bytes:
        """The next rows serialised; b"" once the export is complete (then the document's tail)."""
        with self._lock:
            assert self._rows is not None
            want = _CHUNK_ROWS if self._left is None else min(_CHUNK_ROWS, self._left)
            views = []
            for _, exchange in self._rows:
                views.append(message_view(exchange))
                if len(views) >= want:
                    break
            if self._left is not None:
                self._left -= len(views)
            first = self.sent == 0
            self.sent += len(views)
            if not views:
                return b""
            if self._kind == "json":
                body = b",\n".join(orjson.dumps(view) for view in views)
                return body if first else b",\n" + body
            out = io.StringIO()
            csv.DictWriter(out, fieldnames=_FIELDS).writerows(
                {name: _csv_cell(value) for name, value in view.items()} for view in views
            )
            return out.getvalue().encode()

    def done(self) -> bool:
        return self._left is not None and self._left <= 0

    def tail(self) -> bytes:
        if self._kind != "json":
            return b""
        following = None if self.following is None else self.following.text()
        end = orjson.dumps({"truncated": following is not None, "next": following})
        # The items' array closed, then the object's two last fields: `{"items": [...], "truncated": ...}`.
        return b"\n], " + end[1:] + b"\n"

    def close(self) -> None:
        with self._lock:
            if self._rows is not None:
                self._rows.close()
            if self._conn is not None:
                self._conn.close()
                self._conn = None


@routes.get("/api/v1/messages/export")
async def export_messages(request: web.Request) -> web.StreamResponse:
    kind = query_str(request, "format", ("json", "csv")) or "json"
    where, start = _filter(request), _cursor(request)
    limit = None if "limit" not in request.query else query_int(request, "limit", 0, 1, 10_000_000)
    export = _Export(request.app[READER], where, start, kind)
    try:
        # Everything that can fail for a reason of the request's (the store cannot be read) fails here,
        # before the headers, as a JSON error.
        head = await asyncio.to_thread(export.open, limit)
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/json" if kind == "json" else "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="voltyard-messages.{kind}"',
                TRUNCATED_HEADER: "true" if export.following is not None else "false",
            }
        )
        if export.following is not None:
            response.headers[NEXT_CURSOR_HEADER] = export.following.text()
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            await response.write(head)
            while not export.done():
                body = await asyncio.to_thread(export.chunk)
                if not body:
                    break
                await response.write(body)  # waits while the client is slower than the log
            await response.write(export.tail())
        except ConnectionError:
            # The client went away (closed the download): nothing failed on this side.
            log.info("message-log export ended by the client after %d rows", export.sent)
            return response
        except asyncio.CancelledError:
            raise
        except Exception:
            # The headers are out: an error body is impossible. Cut the connection so that the client
            # sees an incomplete download rather than a file that looks whole.
            log.exception("message-log export failed after %d rows", export.sent)
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response
    finally:
        await asyncio.shield(asyncio.to_thread(export.close))
