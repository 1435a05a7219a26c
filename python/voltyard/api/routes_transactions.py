"""/transactions (active, history, filters, force-close) and /id-tags."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.api.keys import APPLIANCE
from voltyard.api.params import json_body, query_bool, query_float, query_int, query_str
from voltyard.api.views import TRANSACTION_COLUMNS, transaction_view
from voltyard.domain.authorization import IdTag
from voltyard.store.meter_log import meter_readings

__all__ = ["routes"]

routes = web.RouteTableDef()

_TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")


@routes.get("/api/v1/transactions")
async def list_transactions(request: web.Request) -> web.Response:
    clauses: list[str] = ["1"]
    params: list[object] = []
    active = query_bool(request, "active")
    if active is not None:
        clauses.append("stopped_at IS NULL" if active else "stopped_at IS NOT NULL")
    for name, column in (("charger_id", "charger_id"), ("id_tag", "id_tag")):
        value = query_str(request, name)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    for name, op in (("since", ">="), ("until", "<=")):
        bound = query_float(request, name)
        if bound is not None:
            clauses.append(f"started_at {op} ?")
            params.append(bound)
    limit = query_int(request, "limit", 100, 1, 1000)
    offset = query_int(request, "offset", 0, 0, 10**9)
    where = " AND ".join(clauses)
    with contextlib.closing(request.app[APPLIANCE].read_connection()) as db:
        (total,) = db.execute(f"SELECT count(*) FROM transactions WHERE {where}", params).fetchone()
        rows = db.execute(
            f"SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    return web.json_response({"items": [transaction_view(row) for row in rows], "total": total})


def _transaction_id(request: web.Request) -> int:
    raw = request.match_info["transaction_id"]
    try:
        return int(raw)
    except ValueError:
        raise ApiError(404, "not_found", f"no transaction {raw!r}") from None


@routes.get("/api/v1/transactions/{transaction_id}")
async def transaction_detail(request: web.Request) -> web.Response:
    transaction_id = _transaction_id(request)
    with contextlib.closing(request.app[APPLIANCE].read_connection()) as db:
        row = db.execute(
            f"SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id = ?", (transaction_id,)
        ).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"no transaction {transaction_id}")
        meters = [
            {"timestamp": reading.timestamp, "energy_wh": reading.energy_wh, "power_w": reading.power_w,
             "sampled_value": json.loads(reading.sampled_value)}
            for reading in meter_readings(db, transaction_id=transaction_id)
        ]  # fmt: skip
        stops = [
            {"meter_stop": meter, "timestamp": ts, "reason": reason, "flag": flag, "received_at": received}
            for meter, ts, reason, flag, received in db.execute(
                "SELECT meter_stop, timestamp, reason, flag, received_at FROM stop_records "
                "WHERE transaction_id = ? ORDER BY id",
                (transaction_id,),
            )
        ]
    return web.json_response(transaction_view(row) | {"meter_values": meters, "stop_records": stops})


@routes.post("/api/v1/transactions/{transaction_id}/force-close")
async def force_close(request: web.Request) -> web.Response:
    transaction_id = _transaction_id(request)
    body = await json_body(request)
    meter_stop, operator = body.get("meter_stop"), body.get("operator")
    if isinstance(meter_stop, bool) or not isinstance(meter_stop, int) or meter_stop < 0:
        raise ApiError(
            422, "invalid_request", f"meter_stop: expected a non-negative integer (Wh), got {meter_stop!r}"
        )
    if not isinstance(operator, str) or not operator:
        raise ApiError(
            422, "invalid_request", "operator: expected a non-empty string (who closes it, for the audit)"
        )
    services = request.app[APPLIANCE].services
    assert services is not None
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not await services.transactions.force_close(transaction_id, meter_stop, stamp, operator):
        raise ApiError(409, "conflict", f"transaction {transaction_id} is not open")
    detail = await transaction_detail(request)
    assert isinstance(detail, web.Response)
    return detail


@routes.get("/api/v1/id-tags")
async def list_tags(request: web.Request) -> web.Response:
    services = request.app[APPLIANCE].services
    assert services is not None
    items = [
        {
            "id_tag": tag.id_tag,
            "status": tag.status,
            "expiry_date": tag.expiry_date,
            "parent_id_tag": tag.parent_id_tag,
        }
        for tag in sorted(services.authorization.tags.values(), key=lambda tag: tag.id_tag)
    ]
    return web.json_response({"items": items})


@routes.put("/api/v1/id-tags/{id_tag}")
async def put_tag(request: web.Request) -> web.Response:
    id_tag = request.match_info["id_tag"]
    if not 1 <= len(id_tag) <= 20:
        raise ApiError(422, "invalid_request", "id_tag: OCPP 1.6 id tags are 1-20 characters")
    body = await json_body(request)
    status = body.get("status", "Accepted")
    expiry, parent = body.get("expiry_date"), body.get("parent_id_tag")
    if status not in _TAG_STATUSES:
        raise ApiError(422, "invalid_request", f"status: {status!r} is not one of {', '.join(_TAG_STATUSES)}")
    if expiry is not None:
        if not isinstance(expiry, str):
            raise ApiError(422, "invalid_request", "expiry_date: expected an ISO 8601 date-time")
        try:
            datetime.fromisoformat(expiry.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(
                422, "invalid_request", f"expiry_date: {expiry!r} is not an ISO 8601 date-time"
            ) from None
    if parent is not None and (not isinstance(parent, str) or not 1 <= len(parent) <= 20):
        raise ApiError(422, "invalid_request", "parent_id_tag: expected 1-20 characters")
    services = request.app[APPLIANCE].services
    assert services is not None
    await services.authorization.put_tag(IdTag(id_tag, status, expiry, parent))
    return web.json_response(
        {"id_tag": id_tag, "status": status, "expiry_date": expiry, "parent_id_tag": parent}
    )
