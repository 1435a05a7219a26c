"""/health, /site (the shared limit) and /cabinet."""

from __future__ import annotations

import time

from aiohttp import web

from voltyard import __version__
from voltyard.api.errors import ApiError
from voltyard.api.keys import APPLIANCE
from voltyard.api.params import body_operator, json_body
from voltyard.api.views import is_faulted

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/api/v1/health")
async def health(request: web.Request) -> web.Response:
    appliance = request.app[APPLIANCE]
    services = appliance.services
    assert services is not None
    records = list(services.chargers.records.values())
    online = sum(1 for record in records if record.online)
    site = appliance.site
    store = appliance.store
    # A store writer that ended on its own stores nothing more: the appliance still answers, but is not ok.
    stopped = store.stopped_error
    return web.json_response(
        {
            "status": "ok" if stopped is None else "degraded",
            "version": __version__,
            "uptime_s": round(time.monotonic() - appliance.started_at, 1),
            "chargers": {
                "known": len(records),
                "connected": len(appliance.registry),
                "online": online,
                "offline": len(records) - online,
                "faulted": sum(1 for record in records if is_faulted(record)),
            },
            "transactions": {"active": sum(len(open_) for open_ in services.transactions.open.values())},
            "store": {
                "commits": store.commits,
                "failed_rows": store.rows_failed,
                "writer": "running" if stopped is None else "stopped",
                "error": None if stopped is None else f"{type(stopped).__name__}: {stopped}",
            },
            "event_loop_lag_ms": round(appliance.loop_monitor.max_lag * 1000, 1),
            "site": {"limit_kw": site.limit_kw, "power_kw": round(site.power_kw(), 3)},
        }
    )


def _site_view(request: web.Request) -> dict[str, float]:
    site = request.app[APPLIANCE].site
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
        await request.app[APPLIANCE].site.set_limit(float(limit), operator)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return web.json_response(_site_view(request))


@routes.get("/api/v1/cabinet")
async def cabinet(request: web.Request) -> web.Response:
    view = request.app[APPLIANCE].cabinet_view()
    return web.json_response(view)
