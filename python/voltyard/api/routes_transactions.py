"""/transactions (active, history, filters, force-close) and /id-tags (add, change, delete, CSV import).

Changes to id tags are audited (IdTagChanged, IdTagsImported) with the operator when the body names one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json

from aiohttp import web

from voltyard.api.errors import ApiError
from voltyard.api.keys import AUTHORIZATION, EVENTS, READER, TRANSACTIONS
from voltyard.api.params import (
    body_operator,
    body_time,
    json_body,
    path_int,
    query_bool,
    query_int,
    query_operator,
    query_str,
    query_time,
)
from voltyard.api.views import IdTag as IdTagView
from voltyard.api.views import (
    IdTagImport,
    IdTagList,
    MeterValue,
    StopRecord,
    TransactionDetail,
    TransactionPage,
    optional_time,
    transaction_view,
)
from voltyard.domain.authorization import IdTag
from voltyard.events.kinds import IdTagChanged, IdTagsImported
from voltyard.ocpp.timefmt import iso_utc, normalise_time, parse_iso, utc_now
from voltyard.store import queries
from voltyard.store.meter_log import meter_readings

__all__ = ["routes"]

routes = web.RouteTableDef()

_TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")
# An id tag named "import" would share its path with the CSV import: that path is the import's alone.
_TAG_PATH = "/api/v1/id-tags/{id_tag:(?!import$)[^{}/]+}"


@routes.get("/api/v1/transactions")
async def list_transactions(request: web.Request) -> web.Response:
    active = query_bool(request, "active")
    charger_id, id_tag = query_str(request, "charger_id"), query_str(request, "id_tag")
    since, until = query_time(request, "since"), query_time(request, "until")
    limit = query_int(request, "limit", 100, 1, 1000)
    offset = query_int(request, "offset", 0, 0, 10**9)
    with contextlib.closing(request.app[READER]()) as db:
        total, rows = queries.transactions_page(
            db,
            active=active,
            charger_id=charger_id,
            id_tag=id_tag,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
    items = [transaction_view(row) for row in rows]
    return web.json_response(TransactionPage(items=items, total=total))


def _transaction_id(request: web.Request) -> int:
    return path_int(request, "transaction_id", "transaction")


@routes.get("/api/v1/transactions/{transaction_id}")
async def transaction_detail(request: web.Request) -> web.Response:
    transaction_id = _transaction_id(request)
    with contextlib.closing(request.app[READER]()) as db:
        row = queries.transaction(db, transaction_id)
        if row is None:
            raise ApiError(404, "not_found", f"no transaction {transaction_id}")
        meters: list[MeterValue] = [
            {"timestamp": normalise_time(reading.timestamp), "energy_wh": reading.energy_wh,
             "power_w": reading.power_w, "sampled_value": json.loads(reading.sampled_value)}
            for reading in meter_readings(db, transaction_id=transaction_id)
        ]  # fmt: skip
        stops: list[StopRecord] = [
            {
                "meter_stop": meter,
                "timestamp": normalise_time(ts),
                "reason": reason,
                "flag": flag,
                "received_at": optional_time(received),
            }
            for meter, ts, reason, flag, received in queries.stop_records(db, transaction_id)
        ]
    view = TransactionDetail(**transaction_view(row), meter_values=meters, stop_records=stops)
    return web.json_response(view)


@routes.post("/api/v1/transactions/{transaction_id}/force-close")
async def force_close(request: web.Request) -> web.Response:
    transaction_id = _transaction_id(request)
    body = await json_body(request, ("meter_stop", "operator"))
    meter_stop = body.get("meter_stop")
    if isinstance(meter_stop, bool) or not isinstance(meter_stop, int) or meter_stop < 0:
        raise ApiError(
            422, "invalid_request", f"meter_stop: expected a non-negative integer (Wh), got {meter_stop!r}"
        )
    operator = body_operator(body, required=True)
    assert operator is not None
    stamp = utc_now()
    if not await request.app[TRANSACTIONS].force_close(transaction_id, meter_stop, stamp, operator):
        raise ApiError(409, "conflict", f"transaction {transaction_id} is not open")
    detail = await transaction_detail(request)
    assert isinstance(detail, web.Response)
    return detail


def _tag_view(tag: IdTag) -> IdTagView:
    return {
        "id_tag": tag.id_tag,
        "status": tag.status,
        "expiry_date": tag.expiry_date,
        "parent_id_tag": tag.parent_id_tag,
    }


@routes.get("/api/v1/id-tags")
async def list_tags(request: web.Request) -> web.Response:
    tags = sorted(request.app[AUTHORIZATION].tags.values(), key=lambda tag: tag.id_tag)
    return web.json_response(IdTagList(items=[_tag_view(tag) for tag in tags]))


def _check_tag(id_tag: object, status: object, parent: object, where: str = "") -> None:
    """422 naming what is wrong in a tag (and `where`: the CSV line) per OCPP 1.6's limits."""
    if not isinstance(id_tag, str) or not 1 <= len(id_tag) <= 20:
        raise ApiError(422, "invalid_request", f"{where}id_tag: OCPP 1.6 id tags are 1-20 characters")
    if status not in _TAG_STATUSES:
        raise ApiError(
            422, "invalid_request", f"{where}status: {status!r} is not one of {', '.join(_TAG_STATUSES)}"
        )
    if parent is not None and (not isinstance(parent, str) or not 1 <= len(parent) <= 20):
        raise ApiError(422, "invalid_request", f"{where}parent_id_tag: expected 1-20 characters")


@routes.put(_TAG_PATH)
async def put_tag(request: web.Request) -> web.Response:
    id_tag = request.match_info["id_tag"]
    body = await json_body(request, ("status", "expiry_date", "parent_id_tag", "operator"))
    status = body.get("status", "Accepted")
    parent = body.get("parent_id_tag")
    _check_tag(id_tag, status, parent)
    expiry = body_time(body, "expiry_date")
    operator = body_operator(body, required=False)
    tag = IdTag(id_tag, status, expiry, parent)
    await request.app[AUTHORIZATION].put_tag(tag)
    changed = IdTagChanged(None, tag.id_tag, operator, tag.status, tag.expiry_date, tag.parent_id_tag)
    request.app[EVENTS].publish(changed)
    return web.json_response(_tag_view(tag))


@routes.delete(_TAG_PATH)
async def delete_tag(request: web.Request) -> web.Response:
    id_tag = request.match_info["id_tag"]
    operator = query_operator(request)
    if not await request.app[AUTHORIZATION].delete_tag(id_tag):
        raise ApiError(404, "not_found", f"no id tag {id_tag!r}")
    request.app[EVENTS].publish(IdTagChanged(None, id_tag, operator, deleted=True))
    return web.Response(status=204)


_CSV_COLUMNS = ("id_tag", "status", "expiry_date", "parent_id_tag")


def _csv_tags(text: str) -> list[IdTag]:
    """The tags of a CSV file (header row first); 422 naming the line and the column of the first bad one."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if "id_tag" not in header:
        raise ApiError(422, "invalid_request", "line 1: the header row must name an id_tag column")
    unknown = [name for name in header if name not in _CSV_COLUMNS]
    if unknown:
        raise ApiError(
            422,
            "invalid_request",
            f"line 1: unknown column(s) {', '.join(unknown)} (known: {', '.join(_CSV_COLUMNS)})",
        )
    tags: dict[str, IdTag] = {}
    for row in reader:
        where = f"line {reader.line_num}: "
        if None in row:
            raise ApiError(422, "invalid_request", f"{where}more fields than the header names")
        id_tag = (row.get("id_tag") or "").strip()
        status = (row.get("status") or "").strip() or "Accepted"
        parent = (row.get("parent_id_tag") or "").strip() or None
        _check_tag(id_tag, status, parent, where)
        expiry = (row.get("expiry_date") or "").strip() or None
        if expiry is not None:
            try:
                expiry = iso_utc(parse_iso(expiry))
            except ValueError:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"{where}expiry_date: {expiry!r} is not an ISO 8601 date-time with Z or an offset",
                ) from None
        tags[id_tag] = IdTag(id_tag, status, expiry, parent)
    return list(tags.values())


@routes.post("/api/v1/id-tags/import")
async def import_tags(request: web.Request) -> web.Response:
    if request.content_type != "text/csv":
        raise ApiError(
            415,
            "unsupported_media_type",
            "the body must be text/csv (id_tag,status,expiry_date,parent_id_tag)",
        )
    try:
        text = (await request.read()).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid_request", "the CSV file is not UTF-8") from None
    operator = query_operator(request)
    tags = _csv_tags(text)  # all checked before any is stored: a bad file imports nothing
    await request.app[AUTHORIZATION].put_tags(tags)
    request.app[EVENTS].publish(IdTagsImported(None, len(tags), operator))
    return web.json_response(IdTagImport(imported=len(tags)))
