"""/chargers: list with filters, detail, registration, security profile, local list (read and send).

Operator changes are audited in the event log (RegistrationChanged, SecurityProfileChanged, with `operator`
when the body names one). A charger the appliance does not know is 404 everywhere: nothing here creates one.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from voltyard.api.commands import call_command
from voltyard.api.errors import ApiError
from voltyard.api.keys import AUTHORIZATION, CHARGERS, CREDENTIALS, EVENTS, LENIENCY, READER
from voltyard.api.params import body_operator, json_body, query_int, query_str
from voltyard.api.views import (
    ChargerDetail,
    ChargerPage,
    ConfigurationKey,
    IdTag,
    LocalList,
    SecurityProfile,
    charger_view,
    device_variable_view,
    is_faulted,
    transaction_view,
)
from voltyard.domain.chargers import ChargerRecord
from voltyard.events.kinds import RegistrationChanged, SecurityProfileChanged
from voltyard.store import device_model, queries

__all__ = ["routes"]

routes = web.RouteTableDef()

_REGISTRATIONS = ("Accepted", "Pending", "Rejected", "Unknown")


def _record(request: web.Request, code: str = "not_found") -> ChargerRecord:
    """The charger of the path; 404 (`code`: unknown_charger where a change or a command was asked) when the
    appliance does not know it."""
    record = request.app[CHARGERS].records.get(request.match_info["charger_id"])
    if record is None:
        raise ApiError(404, code, f"no charger {request.match_info['charger_id']!r} is known")
    return record


@routes.get("/api/v1/chargers")
async def list_chargers(request: web.Request) -> web.Response:
    text = (query_str(request, "q") or "").lower()
    status = query_str(request, "status", ("online", "offline", "faulted"))
    registration = query_str(request, "registration", _REGISTRATIONS)
    limit = query_int(request, "limit", 100, 1, 1000)
    offset = query_int(request, "offset", 0, 0, 10**9)
    matching = []
    for record in sorted(request.app[CHARGERS].records.values(), key=lambda r: r.id):
        haystack = " ".join(filter(None, (record.id, record.boot.get("chargePointVendor"),
                                          record.boot.get("chargePointModel")))).lower()  # fmt: skip
        if text and text not in haystack:
            continue
        if status == "online" and not record.online:
            continue
        if status == "offline" and record.online:
            continue
        if status == "faulted" and not is_faulted(record):
            continue
        if registration is not None and record.registration != registration:
            continue
        matching.append(record)
    page = matching[offset : offset + limit]
    found = ChargerPage(items=[charger_view(request.app, r) for r in page], total=len(matching))
    return web.json_response(found)


@routes.get("/api/v1/chargers/{charger_id}")
async def charger_detail(request: web.Request) -> web.Response:
    record = _record(request)
    with contextlib.closing(request.app[READER]()) as db:
        configuration = [
            ConfigurationKey(key=key, value=value, readonly=readonly)
            for key, value, readonly in queries.charger_configuration(db, record.id)
        ]
        active = [transaction_view(row) for row in queries.active_transactions(db, record.id)]
        variables = [device_variable_view(row) for row in device_model.read(db, record.id)]
    view = ChargerDetail(
        **charger_view(request.app, record),
        boot=record.boot,
        configuration=configuration,
        device_model=variables,
        local_list_version=record.local_list_version,
        leniency=sorted(request.app[LENIENCY].rules_for(record.id)),
        active_transactions=active,
    )
    return web.json_response(view)


@routes.put("/api/v1/chargers/{charger_id}/registration")
async def put_registration(request: web.Request) -> web.Response:
    record = _record(request, "unknown_charger")
    body = await json_body(request, ("registration", "operator"))
    registration = body.get("registration")
    if registration not in ("Accepted", "Pending", "Rejected"):
        raise ApiError(
            422, "invalid_request", f"registration: {registration!r} is not Accepted, Pending or Rejected"
        )
    operator = body_operator(body, required=False)
    previous = record.registration
    request.app[CHARGERS].set_registration(record.id, registration)
    request.app[EVENTS].publish(RegistrationChanged(record.id, registration, previous, operator))
    return web.json_response(charger_view(request.app, record))


@routes.put("/api/v1/chargers/{charger_id}/security")
async def put_security(request: web.Request) -> web.Response:
    record = _record(request, "unknown_charger")
    body = await json_body(request, ("profile", "password", "operator"))
    profile = body.get("profile")
    password = body.get("password")
    if isinstance(profile, bool) or profile not in (0, 1, 2, 3):
        raise ApiError(422, "invalid_request", f"profile: expected 0, 1, 2 or 3, got {profile!r}")
    if password is not None and not isinstance(password, str):
        raise ApiError(422, "invalid_request", "password: expected a string")
    operator = body_operator(body, required=False)
    credentials = request.app[CREDENTIALS]
    current = credentials.of(record.id)
    if profile in (1, 2) and password is None and current.password_hash is None:
        raise ApiError(422, "invalid_request", f"profile {profile} needs a password")
    try:
        await credentials.set(record.id, profile=profile, password=password.encode() if password else None)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    # The password itself never goes into the log: only that it changed.
    changed = SecurityProfileChanged(record.id, profile, current.profile, password is not None, operator)
    request.app[EVENTS].publish(changed)
    return web.json_response(SecurityProfile(charger_id=record.id, profile=profile))


@routes.get("/api/v1/chargers/{charger_id}/local-list")
async def local_list(request: web.Request) -> web.Response:
    record = _record(request)
    with contextlib.closing(request.app[READER]()) as db:
        items = [
            IdTag(id_tag=tag, status=status, expiry_date=expiry, parent_id_tag=parent)
            for tag, status, expiry, parent in queries.local_list(db, record.id)
        ]
    return web.json_response(LocalList(version=record.local_list_version, items=items))


@routes.post("/api/v1/chargers/{charger_id}/local-list/send")
async def send_local_list(request: web.Request) -> web.Response:
    """SendLocalList of the appliance's id tags, at the next list version, answered like a command."""
    record = _record(request, "unknown_charger")
    body = await json_body(request, ("update_type", "operator"))
    update_type = body.get("update_type", "Full")
    if update_type not in ("Full", "Differential"):
        raise ApiError(422, "invalid_request", f"update_type: {update_type!r} is not Full or Differential")
    body_operator(body, required=False)
    entries = []
    for tag in sorted(request.app[AUTHORIZATION].tags.values(), key=lambda tag: tag.id_tag):
        info: dict[str, str] = {"status": tag.status}
        if tag.expiry_date is not None:
            info["expiryDate"] = tag.expiry_date
        if tag.parent_id_tag is not None:
            info["parentIdTag"] = tag.parent_id_tag
        entries.append({"idTag": tag.id_tag, "idTagInfo": info})
    payload = {
        "listVersion": record.local_list_version + 1,
        "updateType": update_type,
        "localAuthorizationList": entries,
    }
    return await call_command(request, record.id, "SendLocalList", payload, validate=True)
