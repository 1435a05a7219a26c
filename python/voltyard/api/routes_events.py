"""/events: the sequenced event log (after a cursor, or the latest N; by category), the sync markers of
upstream consumers, and /alerts: the alert-category events with their acknowledgement.

Reads run on a worker thread with their own read-only connection: a long log must not hold up the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Literal, TypeVar, cast

from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.api.keys import EVENTS, READER, STORE
from voltyard.api.params import body_operator, json_body, path_int, query_choices, query_int, query_str
from voltyard.api.views import AlertList, EventPage, SyncCursor, alert_view, event_view
from voltyard.events.bus import CATEGORY_CASE
from voltyard.events.kinds import CATEGORIES
from voltyard.store import event_log
from voltyard.store.connection import Connection

__all__ = ["routes"]

routes = web.RouteTableDef()

T = TypeVar("T")


async def _read(request: web.Request, query: Callable[[Connection], T]) -> T:
    reader = request.app[READER]

    def run() -> T:
        with contextlib.closing(reader()) as db:
            return query(db)

    return await asyncio.to_thread(run)


@routes.get("/api/v1/events")
async def list_events(request: web.Request) -> web.Response:
    categories = query_choices(request, "category", CATEGORIES)
    latest = query_int(request, "latest", 0, 1, 5000) if "latest" in request.query else None
    if latest is not None and "after" in request.query:
        raise ApiError(422, "invalid_request", "latest: give either latest or after, not both")
    after = query_int(request, "after", 0, 0, 2**62)
    limit = query_int(request, "limit", 500, 1, 5000)
    if latest is not None:
        count = latest

        def newest(db: Connection) -> web.Response:
            # `next` is the newest seq of the whole log: a client following from there misses nothing and
            # re-reads nothing, whatever the filter skipped.
            upto = event_log.last_seq(db)
            found = event_log.events_latest(db, CATEGORY_CASE, count, categories, upto)
            page: EventPage = {"items": [event_view(e) for e in found], "next": upto}
            return web.json_response(page)

        return await _read(request, newest)
    events = await _read(
        request, lambda db: event_log.events_after(db, CATEGORY_CASE, after, limit, categories)
    )
    items = [event_view(e) for e in events]
    page: EventPage = {"items": items, "next": events[-1].seq if events else after}
    return web.json_response(page)


@routes.get("/api/v1/events/sync/{consumer}")
async def get_sync(request: web.Request) -> web.Response:
    consumer = request.match_info["consumer"]
    seq = await _read(request, lambda db: event_log.sync_cursor(db, consumer))
    return web.json_response(SyncCursor(consumer=consumer, seq=seq))


@routes.post("/api/v1/events/sync")
async def post_sync(request: web.Request) -> web.Response:
    body = await json_body(request, ("consumer", "seq"))
    consumer, seq = body.get("consumer"), body.get("seq")
    if not isinstance(consumer, str) or not 1 <= len(consumer) <= 100:
        raise ApiError(422, "invalid_request", "consumer: expected a name of 1-100 characters")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**62:
        raise ApiError(422, "invalid_request", f"seq: expected a non-negative integer, got {seq!r}")
    cursor = await request.app[STORE].durable(lambda conn: event_log.mark_synced(conn, consumer, seq))
    return web.json_response(SyncCursor(consumer=consumer, seq=cursor))


@routes.get("/api/v1/alerts")
async def list_alerts(request: web.Request) -> web.Response:
    state = cast(
        Literal["open", "acknowledged", "all"],
        query_str(request, "state", ("open", "acknowledged", "all")) or "open",
    )
    limit = query_int(request, "limit", 200, 1, 5000)
    found = await _read(request, lambda db: event_log.alerts(db, CATEGORY_CASE, state, limit))
    return web.json_response(AlertList(items=[alert_view(a) for a in found]))


def _alert_seq(request: web.Request) -> int:
    return path_int(request, "seq", "alert")


@routes.post("/api/v1/alerts/{seq}/ack")
async def acknowledge(request: web.Request) -> web.Response:
    seq = _alert_seq(request)
    body = await json_body(request, ("operator",))
    operator = body_operator(body, required=True)
    at = time.time()
    outcome = await request.app[STORE].durable(
        lambda conn: event_log.acknowledge_alert(conn, CATEGORY_CASE, seq, operator, at)
    )
    if outcome == "missing":
        raise ApiError(404, "not_found", f"no alert has seq {seq}")
    if outcome == "acknowledged":
        raise ApiError(409, "conflict", f"alert {seq} is already acknowledged")
    acknowledged, recorded = outcome
    # Committed: now the stream and the other subscribers hear of it.
    request.app[EVENTS].notify(recorded)
    return web.json_response(alert_view(acknowledged))
