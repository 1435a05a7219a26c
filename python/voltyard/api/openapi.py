"""The OpenAPI 3.0 document of the control API, served at /api/v1/openapi.json.

The paths, parameters and request bodies are written out here, next to a test that checks they name exactly
the routes the application serves; every response body's schema is generated from the view class the route
builds (api/views.py, api/schema.py), and schemathesis in CI checks the answers against it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voltyard import __version__
from voltyard.api.schema import Schema, components, ref
from voltyard.api.views import (
    VIEWS,
    Alert,
    AlertList,
    Cabinet,
    Charger,
    ChargerDetail,
    ChargerPage,
    CommandAnswer,
    Error,
    EventPage,
    Health,
    IdTag,
    IdTagImport,
    IdTagList,
    LocalList,
    MessageExport,
    MessagePage,
    SecurityProfile,
    Site,
    SyncCursor,
    TransactionDetail,
    TransactionPage,
    UplinkQueuePage,
)
from voltyard.events.kinds import CATEGORIES, DEFAULT_CATEGORY, KIND_CATEGORIES, ORIGIN_CATEGORIES
from voltyard.ocpp.actions import ANY_CSMS_ACTIONS

__all__ = ["DOCUMENT", "openapi_handler"]

_OBJECT: Schema = {"type": "object"}
_OPERATOR: Schema = {"type": "string", "minLength": 1, "maxLength": 100, "description": "who acts (audit)"}
_CATEGORY: Schema = {"type": "string", "enum": list(CATEGORIES)}


def _obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {"type": "object", "required": sorted(required), "properties": {**required, **(optional or {})}}


def _body(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """A request body: the keys named and no other (an unknown key is 422)."""
    return _obj(required, optional) | {"additionalProperties": False}


# Generated from the view classes the routes build (api/views.py), never written by hand.
SCHEMAS: dict[str, Schema] = components(*VIEWS)

_ERRORS = {
    "400": "the body is not JSON or a parameter cannot be parsed",
    "401": "no or unknown bearer token",
    "403": "read-only token on a mutating route",
    "404": "not found (code unknown_charger for a charger the appliance does not know)",
    "409": "conflict: charger offline, transaction not open, alert already acknowledged",
    "415": "the body is not of the media type the route reads",
    "422": "the request is well-formed but wrong (a value, or a key the endpoint does not know)",
    "502": "the charger answered with a CALLERROR",
    "504": "the charger did not answer in time",
}


def _query(name: str, schema: Schema, description: str = "") -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _op(
    summary: str,
    ok: Schema | None,
    errors: str,
    *,
    params: list[Schema] | None = None,
    body: Schema | None = None,
    ok_type: str = "application/json",
    body_type: str = "application/json",
) -> Schema:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {ok_type: {"schema": ok or {"type": "string"}}}}
    }
    for status in ["401", *errors.split()]:
        responses[status] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"schema": ref(Error)}},
        }
    operation: Schema = {"summary": summary, "parameters": params or [], "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {body_type: {"schema": body}}}
    return operation


def _error(status: str) -> Schema:
    return {"description": _ERRORS[status], "content": {"application/json": {"schema": ref(Error)}}}


_CHARGER = _path("charger_id")
_ID_TAG = _path("id_tag", {"type": "string", "minLength": 1, "maxLength": 20})
_CATEGORY_LIST = f"^({'|'.join(CATEGORIES)})(,({'|'.join(CATEGORIES)}))*$"
_LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})
_OFFSET = _query("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000_000})
_SINCE = _query("since", {"type": "number"}, "unix seconds")
_UNTIL = _query("until", {"type": "number"}, "unix seconds")
_SINCE_TIME = _query("since", {"type": "string", "format": "date-time"}, "ISO 8601 with Z or an offset")
_UNTIL_TIME = _query("until", {"type": "string", "format": "date-time"}, "ISO 8601 with Z or an offset")
_MESSAGE_FILTERS = [
    _query("charger_id", {"type": "string"}),
    _query("action", {"type": "string"}),
    _query("direction", {"type": "string", "enum": ["in", "out"]}),
    _query("since", {"type": "string", "format": "date-time"}, "ISO 8601 with Z or an offset; included"),
    _query("until", {"type": "string", "format": "date-time"}, "ISO 8601 with Z or an offset; included"),
    _query("cursor", {"type": "string", "pattern": "^[0-9]+[.][0-9]+$"}, "a `next` value: go on from there"),
]
_TRUNCATION_HEADERS: Schema = {
    "X-Voltyard-Truncated": {
        "description": "true when more rows matched than `limit` let through",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    "X-Voltyard-Next-Cursor": {
        "description": "with X-Voltyard-Truncated: true, the `cursor` that exports the rest",
        "schema": {"type": "string"},
    },
}

PATHS: dict[str, Schema] = {
    "/api/v1/health": {"get": _op("Appliance health", ref(Health), "400")},
    "/api/v1/chargers": {
        "get": _op(
            "Chargers, filtered and paged",
            ref(ChargerPage),
            "400 422",
            params=[
                _query("q", {"type": "string"}),
                _query("status", {"type": "string", "enum": ["online", "offline", "faulted"]}),
                _query(
                    "registration", {"type": "string", "enum": ["Accepted", "Pending", "Rejected", "Unknown"]}
                ),
                _LIMIT,
                _OFFSET,
            ],
        )
    },
    "/api/v1/chargers/{charger_id}": {
        "get": _op("One charger in detail", ref(ChargerDetail), "404", params=[_CHARGER])
    },
    "/api/v1/chargers/{charger_id}/registration": {
        "put": _op(
            "Accept, reject or set a charger pending (audited: RegistrationChanged)",
            ref(Charger),
            "400 403 404 422",
            params=[_CHARGER],
            body=_body(
                {"registration": {"type": "string", "enum": ["Accepted", "Pending", "Rejected"]}},
                {"operator": _OPERATOR},
            ),
        )
    },
    "/api/v1/chargers/{charger_id}/security": {
        "put": _op(
            "Security profile and password of a charger (audited: SecurityProfileChanged)",
            ref(SecurityProfile),
            "400 403 404 422",
            params=[_CHARGER],
            body=_body(
                {"profile": {"type": "integer", "minimum": 0, "maximum": 3}},
                {"password": {"type": "string", "nullable": True}, "operator": _OPERATOR},
            ),
        )
    },
    "/api/v1/chargers/{charger_id}/local-list": {
        "get": _op(
            "The charger's local authorization list",
            ref(LocalList),
            "404",
            params=[_CHARGER],
        )
    },
    "/api/v1/chargers/{charger_id}/local-list/send": {
        "post": _op(
            "SendLocalList of the appliance's id tags at the next list version; answered like a command",
            ref(CommandAnswer),
            "400 403 404 409 422 502 504",
            params=[_CHARGER, _query("timeout", {"type": "integer", "minimum": 1, "maximum": 300})],
            body=_body(
                {},
                {"update_type": {"type": "string", "enum": ["Full", "Differential"]}, "operator": _OPERATOR},
            ),
        )
    },
    "/api/v1/chargers/{charger_id}/commands/{action}": {
        "post": _op(
            "Send a CSMS-initiated action; returns the charger's answer (recorded: CommandAnswered)",
            ref(CommandAnswer),
            "400 403 404 409 422 502 504",
            params=[
                _CHARGER,
                _path("action", {"type": "string", "enum": sorted(ANY_CSMS_ACTIONS)}),
                _query("timeout", {"type": "integer", "minimum": 1, "maximum": 300}),
            ],
            body=_OBJECT,
        )
    },
    "/api/v1/chargers/{charger_id}/raw": {
        "post": _op(
            "Send any CALL (schema-checked unless validate is false)",
            ref(CommandAnswer),
            "400 403 404 409 422 502 504",
            params=[_CHARGER, _query("timeout", {"type": "integer", "minimum": 1, "maximum": 300})],
            body=_body(
                {"action": {"type": "string", "minLength": 1}},
                {"payload": _OBJECT, "validate": {"type": "boolean"}},
            ),
        )
    },
    "/api/v1/transactions": {
        "get": _op(
            "Transactions, filtered and paged",
            ref(TransactionPage),
            "400 422",
            params=[
                _query("active", {"type": "string", "enum": ["true", "false"]}),
                _query("charger_id", {"type": "string"}),
                _query("id_tag", {"type": "string"}),
                _SINCE_TIME,
                _UNTIL_TIME,
                _LIMIT,
                _OFFSET,
            ],
        )
    },
    "/api/v1/uplink/queue": {
        "get": _op(
            "The messages waiting for the operator's central system, oldest first",
            ref(UplinkQueuePage),
            "400 422",
            params=[_query("charger_id", {"type": "string"}), _LIMIT, _OFFSET],
        )
    },
    "/api/v1/transactions/{transaction_id}": {
        "get": _op(
            "One transaction with its meter values",
            ref(TransactionDetail),
            "404",
            params=[_path("transaction_id")],
        )
    },
    "/api/v1/transactions/{transaction_id}/force-close": {
        "post": _op(
            "Close an open transaction (audited: TransactionForceClosed)",
            ref(TransactionDetail),
            "400 403 404 409 422",
            params=[_path("transaction_id")],
            body=_body({"meter_stop": {"type": "integer", "minimum": 0}, "operator": _OPERATOR}),
        )
    },
    "/api/v1/id-tags": {"get": _op("Id tags", ref(IdTagList), "400")},
    "/api/v1/id-tags/{id_tag}": {
        "put": _op(
            "Add or change an id tag (audited: IdTagChanged)",
            ref(IdTag),
            "400 403 422",
            params=[_ID_TAG],
            body=_body(
                {},
                {
                    "status": {"type": "string", "enum": ["Accepted", "Blocked", "Expired", "Invalid"]},
                    "expiry_date": {"type": "string", "format": "date-time", "nullable": True},
                    "parent_id_tag": {"type": "string", "minLength": 1, "maxLength": 20, "nullable": True},
                    "operator": _OPERATOR,
                },
            ),
        ),
        "delete": {
            **_op(
                "Forget an id tag (audited: IdTagChanged with deleted: true)",
                None,
                "403 404 422",
                params=[_ID_TAG, _query("operator", _OPERATOR)],
            ),
            "responses": {
                "204": {"description": "deleted"},
                **{s: _error(s) for s in ("401", "403", "404", "422")},
            },
        },
    },
    "/api/v1/id-tags/import": {
        "post": _op(
            "Add or change id tags from a CSV file, all or nothing (audited: IdTagsImported)",
            ref(IdTagImport),
            "400 403 415 422",
            params=[_query("operator", _OPERATOR)],
            body={"type": "string", "description": "header row id_tag,status,expiry_date,parent_id_tag"},
            body_type="text/csv",
        )
    },
    "/api/v1/messages": {
        "get": _op(
            "The message log, newest first, a page at a time (`next`: the cursor of the next page, or null)",
            ref(MessagePage),
            "400 422",
            params=[*_MESSAGE_FILTERS, _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000})],
        )
    },
    "/api/v1/messages/export": {
        "get": {
            **_op(
                "The message log as a file, streamed: every matching row, or `limit` of them",
                None,
                "400 422",
                params=[
                    *_MESSAGE_FILTERS,
                    _query("format", {"type": "string", "enum": ["json", "csv"]}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 10_000_000}),
                ],
            ),
            "responses": {
                "200": {
                    "description": "the file",
                    "headers": _TRUNCATION_HEADERS,
                    "content": {
                        "application/json": {"schema": ref(MessageExport)},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **{
                    s: {"description": _ERRORS[s], "content": {"application/json": {"schema": ref(Error)}}}
                    for s in ("400", "401", "422")
                },
            },
        }
    },
    "/api/v1/events": {
        "get": _op(
            "Events after a cursor, or the latest N (oldest first; next = the newest seq of the log)",
            ref(EventPage),
            "400 422",
            params=[
                _query("after", {"type": "integer", "minimum": 0, "maximum": 2**62}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000}),
                _query("latest", {"type": "integer", "minimum": 1, "maximum": 5000}, "not with after"),
                _query("category", {"type": "string", "pattern": _CATEGORY_LIST}, "comma list of categories"),
            ],
        )
    },
    "/api/v1/alerts": {
        "get": _op(
            "Alerts (events of category alert) with their acknowledgement, newest first",
            ref(AlertList),
            "400 422",
            params=[
                _query("state", {"type": "string", "enum": ["open", "acknowledged", "all"]}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000}),
            ],
        )
    },
    "/api/v1/alerts/{seq}/ack": {
        "post": _op(
            "Acknowledge an alert (audited: AlertAcknowledged)",
            ref(Alert),
            "400 403 404 409 422",
            params=[_path("seq", {"type": "integer", "minimum": 0})],
            body=_body({"operator": _OPERATOR}),
        )
    },
    "/api/v1/events/sync": {
        "post": _op(
            "Record what a consumer has synced",
            ref(SyncCursor),
            "400 403 422",
            body=_body(
                {
                    "consumer": {"type": "string", "minLength": 1, "maxLength": 100},
                    "seq": {"type": "integer", "minimum": 0},
                }
            ),
        )
    },
    "/api/v1/events/sync/{consumer}": {
        "get": _op(
            "Where a consumer stands",
            ref(SyncCursor),
            "404",
            params=[_path("consumer")],
        )
    },
    "/api/v1/site": {
        "get": _op("The site limit and power", ref(Site), "400"),
        "put": _op(
            "Change the site limit (audited: SiteLimitChanged)",
            ref(Site),
            "400 403 422",
            body=_body(
                {"limit_kw": {"type": "number", "minimum": 0, "maximum": 1000000}, "operator": _OPERATOR}
            ),
        ),
    },
    "/api/v1/cabinet": {
        "get": _op(
            "The DC cabinet: guns, slots, modules, latest plan",
            ref(Cabinet),
            "400",
        )
    },
    "/api/v1/stream": {
        "get": {
            "summary": "Live events over WebSocket, msgpack-encoded (see docs/api.md)",
            "parameters": [
                _query("kinds", {"type": "string"}),
                _query("chargers", {"type": "string"}),
                _query("categories", {"type": "string"}),
            ],
            "responses": {
                "101": {"description": "switching to WebSocket"},
                "400": {
                    "description": "not a WebSocket upgrade",
                    "content": {"application/json": {"schema": ref(Error)}},
                },
                "401": {
                    "description": _ERRORS["401"],
                    "content": {"application/json": {"schema": ref(Error)}},
                },
                "422": {
                    "description": "an unknown category in `categories`",
                    "content": {"application/json": {"schema": ref(Error)}},
                },
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.0", "content": {"application/json": {"schema": _OBJECT}}}
            },
        }
    },
    "/metrics": {"get": _op("Prometheus metrics", {"type": "string"}, "400", ok_type="text/plain")},
}


DOCUMENT: Schema = {
    "openapi": "3.0.3",
    "info": {
        "title": "Voltyard control API",
        "version": __version__,
        "description": "Operate the site: chargers, transactions, commands, events, site power.",
    },
    "servers": [{"url": "/"}],
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"bearer": []}],
    "paths": PATHS,
    # The category of each event kind (events.KIND_CATEGORIES): CommandSent and CommandAnswered take theirs
    # from their `origin`; a kind not listed is of the default category.
    "x-event-categories": {
        "categories": list(CATEGORIES),
        "kinds": dict(sorted(KIND_CATEGORIES.items())),
        "command_kinds": ["CommandAnswered", "CommandSent"],
        "command_origins": dict(sorted(ORIGIN_CATEGORIES.items())),
        "command_origin_default": "operator",
        "default": DEFAULT_CATEGORY,
    },
}


async def openapi_handler(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
