"""/events: the sequenced event log after a cursor, and the sync markers of upstream consumers."""

from __future__ import annotations

import contextlib

from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.api.keys import APPLIANCE
from voltyard.api.params import json_body, query_int
from voltyard.events import events_after, mark_synced, sync_cursor

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/api/v1/events")
async def list_events(request: web.Request) -> web.Response:
    after = query_int(request, "after", 0, 0, 2**62)
    limit = query_int(request, "limit", 500, 1, 5000)
    with contextlib.closing(request.app[APPLIANCE].read_connection()) as db:
        events = events_after(db, after, limit)
    items = [
        {"seq": e.seq, "time": e.time, "kind": e.kind, "charger_id": e.charger_id, "data": e.data}
        for e in events
    ]
    return web.json_response({"items": items, "next": events[-1].seq if events else after})


@routes.get("/api/v1/events/sync/{consumer}")
async def get_sync(request: web.Request) -> web.Response:
    consumer = request.match_info["consumer"]
    with contextlib.closing(request.app[APPLIANCE].read_connection()) as db:
        return web.json_response({"consumer": consumer, "seq": sync_cursor(db, consumer)})


@routes.post("/api/v1/events/sync")
async def post_sync(request: web.Request) -> web.Response:
    body = await json_body(request)
    consumer, seq = body.get("consumer"), body.get("seq")
    if not isinstance(consumer, str) or not 1 <= len(consumer) <= 100:
        raise ApiError(422, "invalid_request", "consumer: expected a name of 1-100 characters")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**62:
        raise ApiError(422, "invalid_request", f"seq: expected a non-negative integer, got {seq!r}")
    cursor = await request.app[APPLIANCE].store.durable(lambda conn: mark_synced(conn, consumer, seq))
    return web.json_response({"consumer": consumer, "seq": cursor})
