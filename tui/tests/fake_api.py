"""A fake Voltyard control API for the console's tests (docs/api.md, routes and shapes).

test_fake_api_contract.py checks every route it serves and every answer's shape against the real OpenAPI
document (voltyard.api.openapi), so the two cannot drift apart again. Times are ISO 8601 UTC strings, as
the real API sends them. Screenshots for the docs come from a real appliance (scripts/screenshots.py),
never from here.

It keeps its data in plain dicts shaped exactly like the API's JSON, records every request, answers
commands from a table (or with a queued error), and pushes msgpack events to its WebSocket stream clients
with the real stream's filter rules (empty `kinds` = everything but the per-frame MessageIn/MessageOut).
`FakeApiServer` runs it on a real socket in the test's loop; `ThreadedFakeApi` runs it in a thread of its
own for code that owns its event loop (snapshot tests, the screenshot script).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgpack
from aiohttp import WSMsgType, web
from voltyard.ocpp.actions import ACTION_TABLES, Direction

T0 = 1767268800.0  # 2026-01-01 12:00:00 UTC: every fixed time in the fake data is relative to it
OPERATOR = "operator-token"
READONLY = "readonly-token"

# What a charger of each version takes, from the appliance's one action table (the real route checks the same).
CSMS_ACTIONS = {version: table.sent_by(Direction.CSMS) for version, table in ACTION_TABLES.items()}
MESSAGE_KINDS = frozenset({"MessageIn", "MessageOut"})
CATEGORY = {
    "Alert": "alert", "SecurityEvent": "alert", "ClockSkew": "alert", "AutomaticResponse": "alert",
    "Warning": "alert", "SiteLimitChanged": "operator", "IdTagChanged": "operator", "IdTagsImported": "operator",
    "RegistrationChanged": "operator", "SecurityProfileChanged": "operator", "TransactionForceClosed": "operator",
    "AlertAcknowledged": "operator", "LocalListSent": "operator", "TransactionStarted": "transaction",
    "TransactionStopped": "transaction", "TransactionStopFlagged": "transaction",
    "TransactionReconciled": "transaction", "MeterValues": "transaction", "SitePlan": "power",
    "PlanComputed": "power", "UplinkProfileCapped": "power",
}  # fmt: skip
"""Event kind -> category, as the appliance's voltyard/events.py has it (test_fake_api_contract.py checks it
against the OpenAPI document's x-event-categories); any other kind is a charger's."""
COMMAND_ORIGINS = {"power": "power", "health": "charger"}
TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")


def iso(when: float) -> str:
    """Unix seconds as the API writes every time: ISO 8601 UTC with milliseconds and a Z."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def category(kind: str, data: dict[str, Any]) -> str:
    if kind in ("CommandSent", "CommandAnswered"):
        return COMMAND_ORIGINS.get(str(data.get("origin", "operator")), "operator")
    return CATEGORY.get(kind, "charger")


def event(seq: int, when: float, kind: str, charger_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "time": iso(when), "kind": kind, "charger_id": charger_id, "data": data,
            "category": category(kind, data)}  # fmt: skip


def error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    body = {"error": {"status": status, "code": code, "message": message, "details": details or {}}}
    return web.json_response(body, status=status)


def connector(connector_id: int, status: str, error_code: str = "NoError") -> dict[str, Any]:
    return {"connector_id": connector_id, "status": status, "error_code": error_code,
            "availability": "Operative", "info": ""}  # fmt: skip


def charger(
    charger_id: str,
    statuses: tuple[str, ...],
    *,
    online: bool = True,
    vendor: str = "Voltyard",
    model: str = "SimCharger",
    firmware: str = "1.4.2",
    last_seen: float = T0 - 5,
) -> dict[str, Any]:
    connectors = [connector(0, "Faulted" if "Faulted" in statuses else "Available")]
    connectors += [
        connector(i, s, "GroundFailure" if s == "Faulted" else "NoError") for i, s in enumerate(statuses, 1)
    ]
    return {
        "id": charger_id, "registration": "Accepted", "connected": online, "online": online, "vendor": vendor,
        "model": model, "firmware_version": firmware, "last_seen": iso(last_seen), "security_profile": 1,
        "ocpp_version": "1.6" if online else None, "connectors": connectors,
    }  # fmt: skip


def exchange(
    charger_id: str, direction: str, when: float, action: str, message_id: str, payload: dict[str, Any],
    reply: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "charger_id": charger_id, "direction": direction, "time": iso(when), "message_type": 2,
        "message_id": message_id, "action": action, "frame": json.dumps([2, message_id, action, payload]),
        "reply_type": 3 if reply is not None else None,
        "reply": json.dumps([3, message_id, reply]) if reply is not None else None,
        "reply_time": iso(when + 0.05) if reply is not None else None,
    }  # fmt: skip


def site_data() -> dict[str, Any]:
    """The deterministic site the tests and screenshots show."""
    chargers = [
        charger("SIM00001", ("Charging", "Available")),
        charger("SIM00002", ("Available", "Available")),
        charger("SIM00003", ("Faulted", "Available")),
        charger("SIM00004", ("Unavailable", "Unavailable"), online=False, last_seen=T0 - 7200),
        charger(
            "SIM00005", ("Preparing", "SuspendedEV"), vendor="Alpitronic", model="HYC300", firmware="2.1.0"
        ),
        charger("DEPOT-A1", ("Available",), vendor="ABB", model="Terra 54", firmware="1.8.30"),
    ]
    transactions = [
        {"id": 101, "charger_id": "SIM00001", "connector_id": 1, "id_tag": "TAG-ALICE", "meter_start": 1200,
         "start_time": iso(T0 - 1800), "meter_stop": None, "stop_time": None, "stop_reason": None,
         "stop_flag": None, "active": True, "energy_wh": 18350, "duration_s": 1800.0, "clock_skew": False,
         "charger_transaction_id": None},
        {"id": 102, "charger_id": "SIM00005", "connector_id": 2, "id_tag": "TAG-BOB", "meter_start": 50,
         "start_time": iso(T0 - 600), "meter_stop": None, "stop_time": None, "stop_reason": None,
         "stop_flag": None, "active": True, "energy_wh": None, "duration_s": 600.0, "clock_skew": False,
         "charger_transaction_id": None},
        {"id": 99, "charger_id": "SIM00002", "connector_id": 1, "id_tag": "TAG-ALICE", "meter_start": 500,
         "start_time": iso(T0 - 9000), "meter_stop": 31700, "stop_time": iso(T0 - 5400),
         "stop_reason": "EVDisconnected", "stop_flag": None, "active": False, "energy_wh": 31200,
         "duration_s": 3600.0, "clock_skew": False,
         "charger_transaction_id": None},
    ]  # fmt: skip
    messages = [
        exchange("SIM00001", "in", T0 - 60, "Heartbeat", "hb-1", {}, {"currentTime": "2026-01-01T11:59:00Z"}),
        exchange("SIM00002", "in", T0 - 50, "StatusNotification", "sn-7",
                 {"connectorId": 1, "status": "Available", "errorCode": "NoError"}, {}),
        exchange("SIM00001", "out", T0 - 40, "GetConfiguration", "cs-3", {"key": ["HeartbeatInterval"]},
                 {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}),
        exchange("SIM00003", "in", T0 - 30, "StatusNotification", "sn-9",
                 {"connectorId": 1, "status": "Faulted", "errorCode": "GroundFailure"}, {}),
        exchange("SIM00005", "in", T0 - 20, "MeterValues", "mv-4",
                 {"connectorId": 2, "transactionId": 102, "meterValue": []}, {}),
        exchange("SIM00001", "out", T0 - 10, "RemoteStartTransaction", "cs-4",
                 {"connectorId": 2, "idTag": "TAG-CAROL"}, {"status": "Rejected"}),
    ]  # fmt: skip
    events = [
        event(1, T0 - 90, "ChargerConnected", "SIM00001", {"source": "10.0.0.11"}),
        event(2, T0 - 80, "TransactionStarted", "SIM00005", {"transactionId": 102, "connectorId": 2, "idTag": "TAG-BOB"}),
        event(3, T0 - 30, "ConnectorStatusChanged", "SIM00003",
              {"connectorId": 1, "status": "Faulted", "errorCode": "GroundFailure", "previous": "Available"}),
        event(4, T0 - 29, "Alert", "SIM00003", {"kind": "ConnectorFaulted", "connectorId": 1, "errorCode": "GroundFailure"}),
        event(5, T0 - 5, "ChargerDisconnected", "SIM00004", {}),
    ]  # fmt: skip
    tags = [
        {"id_tag": "TAG-ALICE", "status": "Accepted", "expiry_date": None, "parent_id_tag": "FLEET-1"},
        {"id_tag": "TAG-BOB", "status": "Accepted", "expiry_date": iso(T0 + 86400 * 90), "parent_id_tag": None},
        {"id_tag": "TAG-MALLORY", "status": "Blocked", "expiry_date": None, "parent_id_tag": None},
    ]  # fmt: skip
    return {"chargers": chargers, "transactions": transactions, "messages": messages, "events": events,
            "tags": tags}  # fmt: skip


UPLINK_OFF: dict[str, Any] = {"enabled": False, "url": None, "state": "off", "queued": 0, "last_sync": None,
                              "charge_points": {}}  # fmt: skip


def uplink_data() -> dict[str, Any]:
    """The `uplink` of /health on a site relaying four chargers to its operator's central system: three online,
    one whose boot the central system refused (pending), with its site's messages queued meanwhile."""

    def point(
        state: str, queued: int = 0, detail: str | None = None, last: float | None = T0 - 12
    ) -> dict[str, Any]:
        return {
            "state": state,
            "detail": detail,
            "queued": queued,
            "last_sync": None if last is None else iso(last),
        }

    points = {
        "SIM00001": point("online"), "SIM00002": point("online"), "SIM00003": point("online", last=T0 - 40),
        "SIM00005": point("pending", 3, "boot Rejected", last=None),
    }  # fmt: skip
    return {"enabled": True, "url": "ws://csms.example.com:9000/ocpp/site-7", "state": "partial", "queued": 3,
            "last_sync": iso(T0 - 12), "charge_points": points}  # fmt: skip


def cabinet_data() -> dict[str, Any]:
    """Six slots of two modules, three guns; islands {0,1}→gun 0, {2}→gun 1, {3,4}→gun 2, slot 5 idle."""

    def module(temp: float, on: bool, healthy: bool = True, tripped: bool = False) -> dict[str, Any]:
        return {"healthy": healthy, "tripped": tripped, "temperature_c": temp, "mn_closed": on}

    slots = [
        {"index": 0, "home_gun": 0, "gc_closed": True, "mc_closed": True, "cw_closed": True, "ccw_closed": False,
         "modules": [module(41, True), module(43, True)]},
        {"index": 1, "home_gun": None, "gc_closed": False, "mc_closed": True, "cw_closed": False,
         "ccw_closed": True, "modules": [module(39, True), module(38, False)]},
        {"index": 2, "home_gun": 1, "gc_closed": True, "mc_closed": False, "cw_closed": False, "ccw_closed": False,
         "modules": [module(72, True), module(35, False)]},
        {"index": 3, "home_gun": 2, "gc_closed": True, "mc_closed": True, "cw_closed": True, "ccw_closed": False,
         "modules": [module(45, True), module(44, True)]},
        {"index": 4, "home_gun": None, "gc_closed": False, "mc_closed": True, "cw_closed": False,
         "ccw_closed": True, "modules": [module(40, True), module(30, False, healthy=False, tripped=True)]},
        {"index": 5, "home_gun": None, "gc_closed": False, "mc_closed": False, "cw_closed": False,
         "ccw_closed": False, "modules": [module(25, False), module(25, False)]},
    ]  # fmt: skip
    guns = [
        {"index": 0, "name": "Gun 1", "session": "charging", "voltage_v": 780, "current_a": 115, "power_kw": 89.7,
         "max_power_kw": 150, "safety_ok": True, "comm_ok": True, "connector_temperature_c": 48},
        {"index": 1, "name": "Gun 2", "session": "charging", "voltage_v": 400, "current_a": 98, "power_kw": 39.2,
         "max_power_kw": 150, "safety_ok": True, "comm_ok": True, "connector_temperature_c": 74},
        {"index": 2, "name": "Gun 3", "session": "preparing", "voltage_v": 420, "current_a": 10, "power_kw": 4.2,
         "max_power_kw": 150, "safety_ok": True, "comm_ok": True, "connector_temperature_c": 31},
    ]  # fmt: skip
    plan = {"guns": [
        {"demand_kw": 120, "budget_kw": 90, "island": [0, 1], "limit": "modules", "modules_on": [[0, 0], [0, 1], [1, 0]]},
        {"demand_kw": 60, "budget_kw": 40, "island": [2], "limit": "thermal", "modules_on": [[2, 0]]},
        {"demand_kw": 5, "budget_kw": 5, "island": [3, 4], "limit": "demand", "modules_on": [[3, 0]]},
    ]}  # fmt: skip
    return {"configured": True, "guns": guns, "slots": slots, "modules": [], "plan": plan}


@dataclass
class _Client:
    ws: web.WebSocketResponse
    kinds: frozenset[str]
    chargers: frozenset[str]

    def wants(self, kind: str, charger_id: str | None) -> bool:
        if self.kinds:
            if kind not in self.kinds:
                return False
        elif kind in MESSAGE_KINDS:
            return False
        return not self.chargers or charger_id in self.chargers


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Answer:
    """One answer the fake gave (the contract test checks each against the appliance's OpenAPI document)."""

    method: str
    path: str
    status: int
    content_type: str
    body: bytes | None
    """None for a streamed answer (the WebSocket upgrade); the bytes of every other answer."""


@dataclass
class FakeApi:
    """The API's state and handlers; see the module docstring."""

    chargers: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: dict[int, tuple[str, str]] = field(default_factory=dict)
    """alert seq -> (operator, ISO time) of its acknowledgement."""
    local_list_version: int = 3
    site: dict[str, float] = field(
        default_factory=lambda: {
            "limit_kw": 250.0,
            "power_kw": 133.1,
            "chargers_kw": 0.0,
            "cabinet_kw": 133.1,
        }
    )
    cabinet: dict[str, Any] = field(default_factory=lambda: {"configured": False})
    uplink: dict[str, Any] = field(default_factory=lambda: dict(UPLINK_OFF))
    """The `uplink` member of /health, as served (tests change it to move the uplink's state)."""
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """action -> the charger's answer (default {"status": "Accepted"})."""
    queued_errors: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    replies: list[Answer] = field(default_factory=list)
    clients: list[_Client] = field(default_factory=list)
    stream_opened: asyncio.Condition | None = None
    arrived: asyncio.Condition | None = None
    """Notified on every request the fake receives (tests wait on it rather than polling `requests`)."""
    gate: asyncio.Event | None = None
    """When set by a test, commands and acknowledgements wait for it to open (a request in flight)."""

    @classmethod
    def with_site(cls, *, cabinet: bool = True) -> FakeApi:
        data = site_data()
        fake = cls(**data, uplink=uplink_data())
        if cabinet:
            fake.cabinet = cabinet_data()
        return fake

    # -- test controls --

    def fail_next(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        """Answer the next command or raw call with this error body."""
        self.queued_errors.append((status, code, message, details or {}))

    def add_pending(self, charger_id: str = "NEW-0001") -> dict[str, Any]:
        """A charger that booted and waits for an operator (registration Pending)."""
        pending = charger(charger_id, ("Available",), vendor="Kempower", model="S-Series", firmware="1.0.3")
        pending["registration"] = "Pending"
        self.chargers.append(pending)
        return pending

    def find(self, charger_id: str) -> dict[str, Any] | None:
        return next((c for c in self.chargers if c["id"] == charger_id), None)

    def calls(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def wait_stream(self, kinds: frozenset[str] = frozenset(), count: int = 1) -> None:
        """Until `count` stream clients with exactly these `kinds` are connected."""
        assert self.stream_opened is not None, "the server has not started"
        async with self.stream_opened:
            await self.stream_opened.wait_for(lambda: sum(c.kinds == kinds for c in self.clients) >= count)

    async def wait_requests(self, method: str, path: str, count: int = 1) -> None:
        """Until the fake has received `count` requests of `method` on `path`."""
        assert self.arrived is not None, "the server has not started"
        async with self.arrived:
            await self.arrived.wait_for(lambda: len(self.calls(method, path)) >= count)

    def record(
        self, kind: str, charger_id: str | None, data: dict[str, Any], when: float = T0
    ) -> dict[str, Any]:
        """Append an event to the sequenced log (what the real appliance persists)."""
        item = event((self.events[-1]["seq"] if self.events else 0) + 1, when, kind, charger_id, data)
        self.events.append(item)
        return item

    async def push(self, kind: str, charger_id: str | None, data: dict[str, Any], when: float = T0) -> int:
        """Send one event to every stream client that wants it; how many got it."""
        encoded = msgpack.packb({"kind": kind, "charger_id": charger_id, "time": iso(when), "data": data,
                                 "category": category(kind, data)})  # fmt: skip
        sent = 0
        for client in list(self.clients):
            if client.wants(kind, charger_id) and not client.ws.closed:
                await client.ws.send_bytes(encoded)
                sent += 1
        return sent

    # -- the app --

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record, self._auth])
        r = app.router
        r.add_get("/api/v1/health", self.health)
        r.add_get("/api/v1/site", self.get_site)
        r.add_put("/api/v1/site", self.put_site)
        r.add_get("/api/v1/chargers", self.list_chargers)
        r.add_get("/api/v1/chargers/{charger_id}", self.get_charger)
        r.add_put("/api/v1/chargers/{charger_id}/registration", self.put_registration)
        r.add_put("/api/v1/chargers/{charger_id}/security", self.put_security)
        r.add_post("/api/v1/chargers/{charger_id}/local-list/send", self.send_local_list)
        r.add_post("/api/v1/chargers/{charger_id}/commands/{action}", self.command)
        r.add_post("/api/v1/chargers/{charger_id}/raw", self.raw)
        r.add_get("/api/v1/transactions", self.list_transactions)
        r.add_post("/api/v1/transactions/{transaction_id}/force-close", self.force_close)
        r.add_get("/api/v1/id-tags", self.list_tags)
        r.add_post("/api/v1/id-tags/import", self.import_tags)
        r.add_put("/api/v1/id-tags/{id_tag}", self.put_tag)
        r.add_delete("/api/v1/id-tags/{id_tag}", self.delete_tag)
        r.add_get("/api/v1/alerts", self.list_alerts)
        r.add_post("/api/v1/alerts/{seq}/ack", self.ack_alert)
        r.add_get("/api/v1/messages", self.list_messages)
        r.add_get("/api/v1/messages/export", self.export_messages)
        r.add_get("/api/v1/events", self.list_events)
        r.add_get("/api/v1/cabinet", self.get_cabinet)
        r.add_get("/api/v1/stream", self.stream)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        body: bytes | None = None
        if isinstance(response, web.Response):  # every answer but the stream's: the bytes sent (b"" for none)
            body = response.body if isinstance(response.body, bytes) else b""
            assert response.body is None or isinstance(response.body, bytes), (
                "a payload the check cannot read"
            )
        self.replies.append(
            Answer(request.method, request.path, response.status, response.content_type, body)
        )
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = None
        if request.can_read_body and request.content_type == "text/csv":
            body = await request.text()
        elif request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return error(400, "bad_request", "body is not JSON")
        self.requests.append(Request(request.method, request.path, dict(request.query), body))
        if self.arrived is not None:
            async with self.arrived:
                self.arrived.notify_all()
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in (OPERATOR, READONLY):
            return error(401, "unauthorized", "a valid bearer token is required (see docs/api.md)")
        if token == READONLY and request.method not in ("GET", "HEAD"):
            return error(403, "forbidden", "this token is read-only")
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return error(404, "not_found", f"no route {request.path}")

    def _counts(self) -> dict[str, int]:
        faulted = sum(any(c["status"] == "Faulted" for c in ch["connectors"]) for ch in self.chargers)
        online = sum(ch["online"] for ch in self.chargers)
        return {"known": len(self.chargers), "connected": sum(ch["connected"] for ch in self.chargers),
                "online": online, "offline": len(self.chargers) - online, "faulted": faulted}  # fmt: skip

    async def health(self, request: web.Request) -> web.Response:
        active = sum(1 for t in self.transactions if t["active"])
        return web.json_response({
            "status": "ok", "version": "0.1.0", "uptime_s": 3600.0, "chargers": self._counts(),
            "transactions": {"active": active}, "store": {"status": "ok", "problems": [], "writer": "running", "error": None, "commits": 10, "failed_commits": 0, "failed_rows": 0, "last_commit_age_s": 0.2, "free_disk_bytes": 10 * 2**30, "min_free_disk_bytes": 256 * 2**20},
            "event_loop_lag_ms": 0.4, "site": {"limit_kw": self.site["limit_kw"], "power_kw": self.site["power_kw"]},
            "uplink": self.uplink,
        })  # fmt: skip

    async def get_site(self, request: web.Request) -> web.Response:
        return web.json_response(self.site)

    def _body(self, allowed: set[str]) -> dict[str, Any] | web.Response:
        """The JSON body, refused (422) when it is not an object or names a key the route does not know."""
        body = self.requests[-1].body
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return error(422, "invalid_request", "the body must be a JSON object")
        unknown = sorted(set(body) - allowed)
        if unknown:
            return error(422, "invalid_request", f"unknown key(s): {', '.join(unknown)}")
        return body

    async def put_site(self, request: web.Request) -> web.Response:
        body = self._body({"limit_kw", "operator"})
        if isinstance(body, web.Response):
            return body
        limit, operator = body.get("limit_kw"), body.get("operator")
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            return error(422, "invalid_request", f"limit_kw: expected a number, got {limit!r}")
        if not isinstance(operator, str) or not operator:
            return error(422, "invalid_request", "operator: expected a non-empty string")
        previous = self.site["limit_kw"]
        self.site["limit_kw"] = float(limit)
        self.record(
            "SiteLimitChanged",
            None,
            {"limitKw": float(limit), "previousKw": previous, "operator": operator},
        )
        return web.json_response(self.site)

    async def list_chargers(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "").lower()
        found = [c for c in self.chargers if q in f"{c['id']} {c['vendor']} {c['model']}".lower()]
        if "registration" in request.query:
            found = [c for c in found if c["registration"] == request.query["registration"]]
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 100))
        return web.json_response({"items": found[offset : offset + limit], "total": len(found)})

    async def get_charger(self, request: web.Request) -> web.Response:
        charger_id = request.match_info["charger_id"]
        found = self.find(charger_id)
        if found is None:
            return error(404, "not_found", f"no charger {charger_id!r}")
        detail = {
            **found,
            "boot": {"chargePointVendor": found["vendor"], "chargePointModel": found["model"]},
            "configuration": [
                {"key": "HeartbeatInterval", "value": "300", "readonly": False},
                {"key": "MeterValueSampleInterval", "value": "60", "readonly": False},
                {"key": "NumberOfConnectors", "value": str(len(found["connectors"]) - 1), "readonly": True},
            ],
            "local_list_version": 3,
            "leniency": [],
            "device_model": [],
            "active_transactions": [
                t for t in self.transactions if t["charger_id"] == charger_id and t["active"]
            ],
        }
        return web.json_response(detail)

    def _answer(self, charger_id: str, action: str) -> web.Response:
        if self.queued_errors:
            return error(*self.queued_errors.pop(0))
        found = self.find(charger_id)
        if found is None:
            return error(404, "not_found", f"no charger {charger_id!r}")
        if not found["connected"]:
            return error(409, "charger_offline", f"{charger_id} is not connected")
        return web.json_response(
            {"action": action, "answer": self.answers.get(action, {"status": "Accepted"})}
        )

    async def command(self, request: web.Request) -> web.Response:
        if self.gate is not None:
            await self.gate.wait()
        action = request.match_info["action"]
        found = self.find(request.match_info["charger_id"])
        version = (found or {}).get("ocpp_version") or "1.6"
        if action not in CSMS_ACTIONS[version]:
            return error(422, "invalid_request", f"{action!r} is not a CSMS-initiated OCPP {version} action")
        if not isinstance(self.requests[-1].body, dict):
            return error(422, "invalid_request", "the body must be a JSON object")
        return self._answer(request.match_info["charger_id"], action)

    async def raw(self, request: web.Request) -> web.Response:
        body = self.requests[-1].body
        if not isinstance(body, dict) or not isinstance(body.get("action"), str) or not body["action"]:
            return error(422, "invalid_request", "action: expected a non-empty string")
        return self._answer(request.match_info["charger_id"], body["action"])

    async def put_registration(self, request: web.Request) -> web.Response:
        found = self.find(request.match_info["charger_id"])
        if found is None:
            return error(404, "unknown_charger", f"no charger {request.match_info['charger_id']!r}")
        body = self._body({"registration", "operator"})
        if isinstance(body, web.Response):
            return body
        if body.get("registration") not in ("Accepted", "Pending", "Rejected"):
            return error(
                422,
                "invalid_request",
                f"registration: {body.get('registration')!r} is not Accepted, Pending or Rejected",
            )
        found["registration"] = body["registration"]
        self.record("RegistrationChanged", found["id"], {"registration": body["registration"]})
        return web.json_response(found)

    async def put_security(self, request: web.Request) -> web.Response:
        found = self.find(request.match_info["charger_id"])
        if found is None:
            return error(404, "unknown_charger", f"no charger {request.match_info['charger_id']!r}")
        body = self._body({"profile", "password", "operator"})
        if isinstance(body, web.Response):
            return body
        profile = body.get("profile")
        if isinstance(profile, bool) or profile not in (0, 1, 2, 3):
            return error(422, "invalid_request", f"profile: expected 0, 1, 2 or 3, got {profile!r}")
        found["security_profile"] = profile
        return web.json_response({"charger_id": found["id"], "profile": profile})

    async def send_local_list(self, request: web.Request) -> web.Response:
        body = self._body({"update_type", "operator"})
        if isinstance(body, web.Response):
            return body
        if body.get("update_type", "Full") not in ("Full", "Differential"):
            return error(422, "invalid_request", "update_type: expected Full or Differential")
        response = self._answer(request.match_info["charger_id"], "SendLocalList")
        if response.status == 200:
            self.local_list_version += 1
        return response

    async def force_close(self, request: web.Request) -> web.Response:
        tx_id = int(request.match_info["transaction_id"])
        tx = next((t for t in self.transactions if t["id"] == tx_id), None)
        if tx is None:
            return error(404, "not_found", f"no transaction {tx_id}")
        body = self._body({"meter_stop", "operator"})
        if isinstance(body, web.Response):
            return body
        meter_stop, operator = body.get("meter_stop"), body.get("operator")
        if isinstance(meter_stop, bool) or not isinstance(meter_stop, int) or meter_stop < 0:
            return error(
                422,
                "invalid_request",
                f"meter_stop: expected a non-negative integer (Wh), got {meter_stop!r}",
            )
        if not isinstance(operator, str) or not operator:
            return error(422, "invalid_request", "operator: expected a non-empty string")
        if not tx["active"]:
            return error(409, "conflict", f"transaction {tx_id} is not open")
        tx.update(active=False, meter_stop=meter_stop, stop_time=iso(T0), stop_reason="Other",
                  energy_wh=meter_stop - tx["meter_start"], stop_flag="force_closed")  # fmt: skip
        self.record(
            "TransactionForceClosed", tx["charger_id"], {"transactionId": tx_id, "operator": operator}
        )
        return web.json_response({**tx, "meter_values": [], "stop_records": []})

    async def list_tags(self, request: web.Request) -> web.Response:
        return web.json_response({"items": sorted(self.tags, key=lambda t: t["id_tag"])})

    def _tag(self, id_tag: str, body: dict[str, Any]) -> dict[str, Any] | str:
        """A tag from a body or CSV row, or what is wrong with it."""
        if not 1 <= len(id_tag) <= 20:
            return "id_tag: OCPP 1.6 id tags are 1-20 characters"
        status = body.get("status") or "Accepted"
        if status not in TAG_STATUSES:
            return f"status: {status!r} is not one of {', '.join(TAG_STATUSES)}"
        expiry = body.get("expiry_date") or None
        if expiry is not None:
            try:
                stamp = datetime.fromisoformat(str(expiry).replace("Z", "+00:00")).timestamp()
            except ValueError:
                return f"expiry_date: {expiry!r} is not an ISO 8601 date-time"
            expiry = iso(stamp)
        return {"id_tag": id_tag, "status": status, "expiry_date": expiry,
                "parent_id_tag": body.get("parent_id_tag") or None}  # fmt: skip

    def _store_tag(self, tag: dict[str, Any]) -> None:
        self.tags = [t for t in self.tags if t["id_tag"] != tag["id_tag"]] + [tag]

    async def put_tag(self, request: web.Request) -> web.Response:
        body = self._body({"status", "expiry_date", "parent_id_tag", "operator"})
        if isinstance(body, web.Response):
            return body
        tag = self._tag(request.match_info["id_tag"], body)
        if isinstance(tag, str):
            return error(422, "invalid_request", tag)
        self._store_tag(tag)
        # The appliance's event payload: camelCase keys, a field it does not have left out.
        changed = {"idTag": tag["id_tag"], "operator": body.get("operator"), "status": tag["status"],
                   "expiryDate": tag["expiry_date"], "parentIdTag": tag["parent_id_tag"]}  # fmt: skip
        self.record(
            "IdTagChanged", None, {k: v for k, v in changed.items() if v is not None or k == "operator"}
        )
        return web.json_response(tag)

    async def delete_tag(self, request: web.Request) -> web.Response:
        id_tag = request.match_info["id_tag"]
        if not any(t["id_tag"] == id_tag for t in self.tags):
            return error(404, "not_found", f"no id tag {id_tag!r}")
        self.tags = [t for t in self.tags if t["id_tag"] != id_tag]
        return web.Response(status=204)

    async def import_tags(self, request: web.Request) -> web.Response:
        text = self.requests[-1].body
        if not isinstance(text, str):
            return error(422, "invalid_request", "expected a text/csv body")
        reader = csv.DictReader(io.StringIO(text))
        if "id_tag" not in (reader.fieldnames or ()):
            return error(422, "invalid_request", "line 1: the header has no id_tag column")
        parsed = []
        for line, row in enumerate(reader, start=2):
            tag = self._tag(row.get("id_tag") or "", row)
            if isinstance(tag, str):
                return error(422, "invalid_request", f"line {line}: {tag}")
            parsed.append(tag)
        for tag in parsed:
            self._store_tag(tag)
        return web.json_response({"imported": len(parsed)})

    def _alert(self, item: dict[str, Any]) -> dict[str, Any]:
        by, at = self.acknowledged.get(item["seq"], (None, None))
        return {key: item[key] for key in ("seq", "time", "kind", "charger_id", "data")} | {
            "acknowledged_by": by, "acknowledged_at": at}  # fmt: skip

    async def list_alerts(self, request: web.Request) -> web.Response:
        state = request.query.get("state", "open")
        alerts = [self._alert(e) for e in reversed(self.events) if e["category"] == "alert"]
        if state == "open":
            alerts = [a for a in alerts if a["acknowledged_by"] is None]
        elif state == "acknowledged":
            alerts = [a for a in alerts if a["acknowledged_by"] is not None]
        return web.json_response({"items": alerts[: int(request.query.get("limit", 200))]})

    async def ack_alert(self, request: web.Request) -> web.Response:
        if self.gate is not None:
            await self.gate.wait()
        seq = int(request.match_info["seq"])
        found = next((e for e in self.events if e["seq"] == seq and e["category"] == "alert"), None)
        if found is None:
            return error(404, "not_found", f"no alert {seq}")
        body = self._body({"operator"})
        if isinstance(body, web.Response):
            return body
        operator = body.get("operator")
        if not isinstance(operator, str) or not operator:
            return error(422, "invalid_request", "operator: expected a non-empty string")
        if seq in self.acknowledged:
            return error(409, "conflict", f"alert {seq} is already acknowledged")
        self.acknowledged[seq] = (operator, iso(T0))
        self.record("AlertAcknowledged", found["charger_id"], {"alertSeq": seq, "operator": operator})
        return web.json_response(self._alert(found))

    async def list_transactions(self, request: web.Request) -> web.Response:
        items = self.transactions
        if "active" in request.query:
            want = request.query["active"] == "true"
            items = [t for t in items if t["active"] == want]
        if "charger_id" in request.query:
            items = [t for t in items if t["charger_id"] == request.query["charger_id"]]
        return web.json_response({"items": items, "total": len(items)})

    def _messages(self, query: Any) -> list[dict[str, Any]]:
        items = list(reversed(self.messages))  # newest first, as the API orders them
        for key in ("charger_id", "action", "direction"):
            if key in query:
                items = [m for m in items if m[key] == query[key]]
        return items[: int(query.get("limit", 100))]

    async def list_messages(self, request: web.Request) -> web.Response:
        return web.json_response({"items": self._messages(request.query), "next": None})

    async def export_messages(self, request: web.Request) -> web.Response:
        fmt = request.query.get("format", "json")
        items = self._messages(request.query)
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(items[0]) if items else ["time"])
            writer.writeheader()
            writer.writerows(items)
            text, content_type = out.getvalue(), "text/csv"
        else:
            text = json.dumps({"items": items, "truncated": False, "next": None}, indent=1)
            content_type = "application/json"
        disposition = f'attachment; filename="voltyard-messages.{fmt}"'
        return web.Response(
            text=text, content_type=content_type, headers={"Content-Disposition": disposition}
        )

    async def list_events(self, request: web.Request) -> web.Response:
        wanted = {c for c in request.query.get("category", "").split(",") if c}
        matching = [e for e in self.events if not wanted or e["category"] in wanted]
        if "latest" in request.query:
            items = matching[-int(request.query["latest"]) :]
            return web.json_response({"items": items, "next": self.events[-1]["seq"] if self.events else 0})
        after, limit = int(request.query.get("after", 0)), int(request.query.get("limit", 500))
        items = [e for e in matching if e["seq"] > after][:limit]
        return web.json_response({"items": items, "next": items[-1]["seq"] if items else after})

    async def get_cabinet(self, request: web.Request) -> web.Response:
        return web.json_response(self.cabinet)

    async def stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)

        def csv_set(name: str) -> frozenset[str]:
            return frozenset(x for x in request.query.get(name, "").split(",") if x)

        client = _Client(ws, csv_set("kinds"), csv_set("chargers"))
        assert self.stream_opened is not None
        async with self.stream_opened:
            self.clients.append(client)
            self.stream_opened.notify_all()
        try:
            async for message in ws:
                if message.type is WSMsgType.BINARY:
                    update = msgpack.unpackb(message.data)
                    client.kinds = frozenset(update.get("kinds") or ())
                    client.chargers = frozenset(update.get("chargers") or ())
        finally:
            self.clients.remove(client)
        return ws


class FakeApiServer:
    """Serves a `FakeApi` on 127.0.0.1; can be stopped and started again on the same port (an API restart)."""

    def __init__(self, fake: FakeApi) -> None:
        self.fake = fake
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.fake.stream_opened = asyncio.Condition()
        self.fake.arrived = asyncio.Condition()
        self._runner = web.AppRunner(self.fake.app(), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for client in list(self.fake.clients):
            await client.ws.close(code=1001, message=b"appliance shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class ThreadedFakeApi:
    """A `FakeApiServer` on its own event loop in a daemon thread."""

    def __init__(self, fake: FakeApi) -> None:
        self.server = FakeApiServer(fake)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-api", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def __enter__(self) -> ThreadedFakeApi:
        self._thread.start()
        self.run(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
