"""/uplink/queue: the messages waiting for the operator's central system (docs/uplink.md), oldest first."""

from __future__ import annotations

import contextlib

from aiohttp import web

from voltyard.api.keys import READER
from voltyard.api.params import query_int, query_str
from voltyard.api.views import UplinkQueued, UplinkQueuePage
from voltyard.ocpp.timefmt import iso_utc
from voltyard.store import uplink

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/api/v1/uplink/queue")
async def queue(request: web.Request) -> web.Response:
    charger_id = query_str(request, "charger_id")
    limit = query_int(request, "limit", 100, 1, 1000)
    offset = query_int(request, "offset", 0, 0, 10**9)
    with contextlib.closing(request.app[READER]()) as db:
        total, page = uplink.queue_page(db, charger_id, limit, offset)
    items: list[UplinkQueued] = [
        {
            "seq": queued.seq,
            "charger_id": queued.charger_id,
            "action": queued.action,
            "transaction_id": queued.transaction_id,
            "queued_at": iso_utc(queued_at),
            "payload": queued.payload,
        }
        for queued, queued_at in page
    ]
    return web.json_response(UplinkQueuePage(items=items, total=total))
