"""The aiohttp application of the control API: routes, bearer-token auth with roles, JSON errors.

Handlers reach each service they use through its own key (api/keys.py), set from the `ApiServices` that
runtime.py builds; the API never reads the store's file except through the read-only connections of `reader`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from voltyard.api import (
    routes_chargers,
    routes_commands,
    routes_events,
    routes_messages,
    routes_site,
    routes_transactions,
    routes_uplink,
)
from voltyard.api.errors import ApiError, error_response
from voltyard.api.keys import (
    AUTHORIZATION,
    CABINET,
    CHARGERS,
    COMMANDS,
    CREDENTIALS,
    EVENTS,
    LENIENCY,
    LOOP_MONITOR,
    OCPP_METRICS,
    READER,
    REFUSED,
    SESSIONS,
    SITE,
    STARTED_AT,
    STORE,
    STREAM,
    TOKENS,
    TRANSACTIONS,
    UPLINK,
    CabinetView,
    Reader,
    Refused,
    UplinkView,
)
from voltyard.api.metrics import metrics_handler
from voltyard.api.openapi import openapi_handler
from voltyard.api.stream import DEFAULT_MAX_BUFFER, EventStream, stream_handler
from voltyard.api.tokens import TokenRing
from voltyard.domain.authorization import Authorization
from voltyard.domain.chargers import Chargers
from voltyard.domain.credentials import Credentials
from voltyard.domain.site import Site
from voltyard.domain.transactions import Transactions
from voltyard.events.bus import EventBus
from voltyard.loop_monitor import LoopMonitor
from voltyard.metrics import Metrics
from voltyard.ocpp.commands import Commands
from voltyard.ocpp.leniency import Leniency
from voltyard.ocpp.registry import Registry
from voltyard.store.writer import StoreWriter

__all__ = ["ApiServices", "create_app"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PUBLIC = frozenset({"/api/v1/openapi.json"})
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error body; nothing escapes as an HTML page or a bare 500."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "bad_request")
        # Keep what the HTTP exception says beyond its status (Allow on a 405, for one).
        kept = {
            name: value for name, value in exc.headers.items() if name.lower() in ("allow", "retry-after")
        }
        return error_response(exc.status, code, exc.reason, headers=kept)
    except Exception as exc:
        log.exception("API handler failed: %s %s", request.method, request.path)
        # A read that met damaged pages: /health must say so, not only this 500 (issue 17).
        request.app[STORE].note_corruption(exc)
        return error_response(500, "internal_error", "the appliance failed to handle this request")


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer token required (but for the OpenAPI document); read-only tokens may only read."""
    if request.path in _PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    role = request.app[TOKENS].role_of(token.strip()) if scheme.lower() == "bearer" else None
    if role is None:
        raise ApiError(401, "unauthorized", "a valid bearer token is required (see docs/api.md)")
    if role != "operator" and request.method not in _READ_METHODS:
        raise ApiError(403, "forbidden", "this token is read-only")
    return await handler(request)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiServices:
    """The services the API uses, built by the composition root (runtime.py); each gets its own key."""

    chargers: Chargers
    transactions: Transactions
    authorization: Authorization
    credentials: Credentials
    site: Site
    events: EventBus
    store: StoreWriter
    commands: Commands
    sessions: Registry  # the live OCPP sessions, read only
    leniency: Leniency
    ocpp_metrics: Metrics
    refused: Refused
    loop_monitor: LoopMonitor
    reader: Reader
    cabinet: CabinetView
    started_at: float
    uplink: UplinkView
    stream_max_buffer: int = DEFAULT_MAX_BUFFER  # bytes an event-stream client may leave unread


def create_app(services: ApiServices, tokens: dict[str, str]) -> web.Application:
    """The API application over the services of a started appliance, accepting `tokens` ({role: token})."""
    app = web.Application(middlewares=[errors, auth], client_max_size=1024 * 1024)
    app[CHARGERS] = services.chargers
    app[TRANSACTIONS] = services.transactions
    app[AUTHORIZATION] = services.authorization
    app[CREDENTIALS] = services.credentials
    app[SITE] = services.site
    app[EVENTS] = services.events
    app[STORE] = services.store
    app[COMMANDS] = services.commands
    app[SESSIONS] = services.sessions
    app[LENIENCY] = services.leniency
    app[OCPP_METRICS] = services.ocpp_metrics
    app[REFUSED] = services.refused
    app[LOOP_MONITOR] = services.loop_monitor
    app[READER] = services.reader
    app[CABINET] = services.cabinet
    app[STARTED_AT] = services.started_at
    app[UPLINK] = services.uplink
    app[TOKENS] = TokenRing(tokens)
    app[STREAM] = EventStream(services.events, services.stream_max_buffer)
    for module in (
        routes_site,
        routes_chargers,
        routes_commands,
        routes_transactions,
        routes_messages,
        routes_events,
        routes_uplink,
    ):
        app.router.add_routes(module.routes)
    app.router.add_get("/api/v1/stream", stream_handler)
    app.router.add_get("/api/v1/openapi.json", openapi_handler)
    app.router.add_get("/metrics", metrics_handler)
    app.on_shutdown.append(_close_streams)
    return app


async def _close_streams(app: web.Application) -> None:
    await app[STREAM].close_all()
