"""/health, /site (the shared limit) and /cabinet."""

from __future__ import annotations

import time
from typing import cast

from aiohttp import web

from voltyard import __version__
from voltyard.api.errors import ApiError
from voltyard.api.keys import (
    CABINET,
    CHARGERS,
    LOOP_MONITOR,
    SESSIONS,
    SITE,
    STARTED_AT,
    STORE,
    TRANSACTIONS,
    UPLINK,
)
from voltyard.api.params import body_operator, json_body
from voltyard.api.views import Cabinet, Health, HealthUplink, Site, is_faulted

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/api/v1/health")
async def health(request: web.Request) -> web.Response:
    records = list(request.app[CHARGERS].records.values())
    online = sum(1 for record in records if record.online)
    site = request.app[SITE]
    # The store's truth (voltyard.store.health): a writer that stopped, commits failing, damaged pages or a
    # volume nearly full: the appliance still answers, but is not ok.
    store = request.app[STORE].health()
    view: Health = {
            "status": "ok" if store.ok else "degraded",
            "version": __version__,
            "uptime_s": round(time.monotonic() - request.app[STARTED_AT], 1),
            "chargers": {
                "known": len(records),
                "connected": len(request.app[SESSIONS]),
                "online": online,
                "offline": len(records) - online,
                "faulted": sum(1 for record in records if is_faulted(record)),
            },
            "transactions": {"active": sum(len(open_) for open_ in request.app[TRANSACTIONS].open.values())},
            "store": {
                "status": "ok" if store.ok else "degraded",
                "problems": list(store.problems),
                "writer": "running" if store.running else "stopped",
                "error": store.error,
                "commits": store.commits,
                "failed_commits": store.commits_failed,
                "failed_rows": store.rows_failed,
                "last_commit_age_s": store.last_commit_age_s,
                "free_disk_bytes": store.free_bytes,
                "min_free_disk_bytes": store.min_free_bytes,
            },
            "event_loop_lag_ms": round(request.app[LOOP_MONITOR].max_lag * 1000, 1),
            "site": {"limit_kw": site.limit_kw, "power_kw": round(site.power_kw(), 3)},
            "uplink": cast(HealthUplink, request.app[UPLINK]()),
        }  # fmt: skip
    return web.json_response(view)


def _site_view(request: web.Request) -> Site:
    site = request.app[SITE]
    return {
        "limit_kw": site.limit_kw,
        "power_kw": round(site.power_kw(), 3),
        "chargers_kw": round(site.chargers_kw(), 3),
        "cabinet_kw": round(site.cabinet_kw(), 3),
    }


@routes.get("/api/v1/site")
async def get_site(request: web.Request) -> web.Response:
    return web.json_response(_site_view(request))


@routes.put("/api/v1/site")
async def put_site(request: web.Request) -> web.Response:
    body = await json_body(request, ("limit_kw", "operator"))
    limit = body.get("limit_kw")
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise ApiError(422, "invalid_request", f"limit_kw: expected a number, got {limit!r}")
    # Who changed the limit the whole site shares is on record (SiteLimitChanged), so it must be said.
    operator = body_operator(body, required=True)
    try:
        await request.app[SITE].set_limit(float(limit), operator)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return web.json_response(_site_view(request))


@routes.get("/api/v1/cabinet")
async def cabinet(request: web.Request) -> web.Response:
    # The cabinet's own view (domain/cabinet.py, power/cabinet_power.py) is a dict of its own: its top level
    # is what the Cabinet view promises.
    view = cast(Cabinet, request.app[CABINET]())
    return web.json_response(view)
