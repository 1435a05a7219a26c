"""/messages: the message log with filters, and its export as JSON or CSV."""

from __future__ import annotations

import contextlib
import csv
import io
import json

from aiohttp import web

from voltyard.api.keys import APPLIANCE
from voltyard.api.params import query_float, query_int, query_str
from voltyard.api.views import exchange_view
from voltyard.store.message_log import MessageLog

__all__ = ["routes"]

routes = web.RouteTableDef()

_FIELDS = ("time", "charger_id", "direction", "message_type", "message_id", "action", "frame", "reply_type",
           "reply", "reply_time")  # fmt: skip


def _query(request: web.Request, default_limit: int, max_limit: int) -> list[dict[str, object]]:
    filters = {
        "charger_id": query_str(request, "charger_id"),
        "action": query_str(request, "action"),
        "direction": query_str(request, "direction", ("in", "out")),
        "since": query_float(request, "since"),
        "until": query_float(request, "until"),
        "limit": query_int(request, "limit", default_limit, 1, max_limit),
    }
    with contextlib.closing(request.app[APPLIANCE].read_connection()) as db:
        return [exchange_view(e) for e in MessageLog.query(db, **filters)]  # type: ignore[arg-type]


@routes.get("/api/v1/messages")
async def list_messages(request: web.Request) -> web.Response:
    return web.json_response({"items": _query(request, 100, 5000)})


@routes.get("/api/v1/messages/export")
async def export_messages(request: web.Request) -> web.Response:
    kind = query_str(request, "format", ("json", "csv")) or "json"
    items = _query(request, 10_000, 100_000)
    if kind == "json":
        body = json.dumps(items, indent=1)
        content_type = "application/json"
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=_FIELDS)
        writer.writeheader()
        writer.writerows(items)
        body = out.getvalue()
        content_type = "text/csv"
    return web.Response(
        text=body,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="voltyard-messages.{kind}"'},
    )
