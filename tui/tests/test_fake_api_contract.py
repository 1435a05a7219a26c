"""The fake API must not drift from the real one (issue 15 finding 10): every route the fake serves is in the
appliance's OpenAPI document (voltyard.api.openapi.DOCUMENT, imported in-process), every answer it gives is
valid against that route's documented response schema for its status, every request body the console sends
is valid against the documented request body, and the fake's event categories are the appliance's.

The named shapes are checked strictly: an object the document describes with properties may carry no other
key in the fake's answers, so a field renamed on one side fails here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import msgpack
import pytest
from aiohttp import ClientSession
from fake_api import OPERATOR, T0, Answer, FakeApi, FakeApiServer, category, iso

from voltyard_tui.client import ApiClient

openapi = pytest.importorskip("voltyard.api.openapi", reason="the appliance (voltyard) is not installed")
jsonschema = pytest.importorskip("jsonschema")

DOCUMENT: dict[str, Any] = openapi.DOCUMENT
API = "/api/v1"


def _convert(schema: Any, *, strict: bool) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: `nullable` as a null type; `strict`: no undeclared keys."""
    if isinstance(schema, list):
        return [_convert(s, strict=strict) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _convert(v, strict=strict) for k, v in schema.items() if k not in ("nullable", "description")}
    if strict and out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


# The named shapes (Charger, Transaction, Event, Alert, IdTag, ...) are checked strictly: the fake may not
# add a key the appliance does not document. A route's own wrapper (items, next, ...) is checked as written.
COMPONENTS = _convert(copy.deepcopy(DOCUMENT["components"]), strict=True)


def validate(instance: Any, schema: dict[str, Any], where: str) -> None:
    root = {**_convert(schema, strict=False), "components": COMPONENTS}
    validator = jsonschema.Draft7Validator(root, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{where}: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors[:5]
    )


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


DOC_PATHS = {_shape(path): path for path in DOCUMENT["paths"]}


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented path and operation that serve this concrete request path."""
    # A literal segment wins over a parameter (/id-tags/import before /id-tags/{id_tag}).
    for doc_path in sorted(DOCUMENT["paths"], key=lambda p: p.count("{")):
        ops = DOCUMENT["paths"][doc_path]
        if method.lower() in ops and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", doc_path), path):
            return doc_path, ops[method.lower()]
    raise AssertionError(f"{method} {path}: not in the appliance's OpenAPI document")


def fake_routes() -> set[tuple[str, str]]:
    app = FakeApi.with_site().app()
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path")
        if route.method != "HEAD" and path:
            routes.add((route.method, str(path)))
    return routes


def test_every_route_of_the_fake_is_documented():
    missing = sorted(f"{m} {p}" for m, p in fake_routes() if m.lower() not in DOCUMENT["paths"].get(
        DOC_PATHS.get(_shape(p), ""), {}))  # fmt: skip
    assert not missing, f"the fake serves routes the appliance does not document: {missing}"


def test_the_fakes_event_categories_are_the_appliances():
    table = DOCUMENT["x-event-categories"]
    for kind, expected in table["kinds"].items():
        assert category(kind, {}) == expected, kind
    assert category("SomethingNew", {}) == table["default"]
    for kind in table["command_kinds"]:
        for origin, expected in table["command_origins"].items():
            assert category(kind, {"origin": origin}) == expected, (kind, origin)
        assert category(kind, {}) == table["command_origin_default"]


# One or more requests per route (method, path, query, body); the test checks each route is walked.
CSV = "id_tag,status,expiry_date,parent_id_tag\nCSV-1,Accepted,,\nCSV-2,Blocked,2027-01-01T00:00:00Z,CSV-1\n"
WALK: list[tuple[str, str, dict[str, str], Any]] = [
    ("GET", "/health", {}, None),
    ("GET", "/site", {}, None),
    ("PUT", "/site", {}, {"limit_kw": 180.0, "operator": "alice"}),
    ("PUT", "/site", {}, {"limit_kw": 180.0}),
    ("PUT", "/site", {}, {"limt_kw": 180.0, "operator": "alice"}),
    ("GET", "/chargers", {"limit": "1000", "offset": "0"}, None),
    ("GET", "/chargers", {"registration": "Pending"}, None),
    ("GET", "/chargers/SIM00001", {}, None),
    ("GET", "/chargers/NOPE", {}, None),
    ("PUT", "/chargers/NEW-0001/registration", {}, {"registration": "Accepted", "operator": "alice"}),
    ("PUT", "/chargers/NOPE/registration", {}, {"registration": "Accepted"}),
    (
        "PUT",
        "/chargers/SIM00002/security",
        {},
        {"profile": 2, "password": "0123456789abcdef0123", "operator": "a"},
    ),
    ("PUT", "/chargers/SIM00002/security", {}, {"profile": 7}),
    ("POST", "/chargers/SIM00002/local-list/send", {}, {"update_type": "Full", "operator": "alice"}),
    ("POST", "/chargers/SIM00004/local-list/send", {}, {"update_type": "Full"}),
    ("POST", "/chargers/SIM00001/commands/Reset", {}, {"type": "Soft"}),
    ("POST", "/chargers/SIM00004/commands/Reset", {}, {"type": "Soft"}),
    (
        "POST",
        "/chargers/SIM00001/raw",
        {},
        {"action": "DataTransfer", "payload": {"vendorId": "x"}, "validate": False},
    ),
    ("GET", "/transactions", {"active": "true", "limit": "1000"}, None),
    ("GET", "/transactions", {"limit": "500"}, None),
    ("POST", "/transactions/101/force-close", {}, {"meter_stop": 20000, "operator": "alice"}),
    ("POST", "/transactions/101/force-close", {}, {"meter_stop": 20000, "operator": "alice"}),
    ("GET", "/id-tags", {}, None),
    (
        "PUT",
        "/id-tags/TAG-DAVE",
        {},
        {
            "status": "Blocked",
            "expiry_date": "2026-06-30T18:00:00.000Z",
            "parent_id_tag": "FLEET-1",
            "operator": "alice",
        },
    ),
    ("PUT", "/id-tags/TAG-DAVE", {}, {"status": "Maybe"}),
    ("DELETE", "/id-tags/TAG-DAVE", {"operator": "alice"}, None),
    ("DELETE", "/id-tags/TAG-DAVE", {"operator": "alice"}, None),
    ("POST", "/id-tags/import", {"operator": "alice"}, CSV),
    ("POST", "/id-tags/import", {"operator": "alice"}, "id_tag,status\nX,Maybe\n"),
    ("GET", "/alerts", {"state": "open", "limit": "200"}, None),
    ("POST", "/alerts/4/ack", {}, {"operator": "alice"}),
    ("POST", "/alerts/4/ack", {}, {"operator": "alice"}),
    ("POST", "/alerts/999/ack", {}, {"operator": "alice"}),
    ("GET", "/alerts", {"state": "all"}, None),
    ("GET", "/messages", {"limit": "200"}, None),
    ("GET", "/messages/export", {"format": "json"}, None),
    ("GET", "/events", {"latest": "1000"}, None),
    ("GET", "/events", {"after": "2", "limit": "500", "category": "alert,operator"}, None),
    ("GET", "/cabinet", {}, None),
]


def check_answer(answer: Answer) -> str:
    """One answer of the fake against the document: its status is documented for its route, and its body is
    valid for what the document gives for that status (none where the document gives no content).
    The documented route it served is returned."""
    doc_path, op = operation(answer.method, answer.path)
    where = f"{answer.method} {answer.path} -> {answer.status}"
    documented = op["responses"].get(str(answer.status))
    assert documented is not None, f"{where}: status {answer.status} is not documented"
    if answer.body is None:  # the stream's upgrade: its frames are checked by their own test
        assert answer.status == 101, f"{where}: a streamed answer other than the WebSocket upgrade"
        return doc_path
    if "content" not in documented:
        assert not answer.body, f"{where}: the document gives no body, the fake sent {answer.body[:80]!r}"
        return doc_path
    schema = documented["content"].get(answer.content_type, {}).get("schema")
    assert schema is not None, f"{where}: {answer.content_type} is not documented"
    text = answer.body.decode()
    validate(json.loads(text) if answer.content_type == "application/json" else text, schema, where)
    return doc_path


async def _call(session: ClientSession, base: str, method: str, path: str, query: dict[str, str], body: Any):
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if isinstance(body, str):
        kwargs["data"] = body.encode()
        headers["Content-Type"] = "text/csv"
    elif body is not None:
        kwargs["json"] = body
    async with session.request(method, f"{base}{API}{path}", **kwargs) as response:
        content_type = response.headers.get("Content-Type", "").split(";")[0]
        payload = await response.json() if content_type == "application/json" else await response.text()
        return response.status, content_type, payload


async def test_every_answer_of_the_fake_matches_the_document():
    fake = FakeApi.with_site()
    fake.add_pending("NEW-0001")
    server = FakeApiServer(fake)
    await server.start()
    try:
        async with ClientSession() as session:
            for method, path, query, body in WALK:
                await _call(session, server.url, method, path, query, body)
    finally:
        await server.stop()
    assert len(fake.replies) == len(WALK), "an answer of the walk was not recorded"
    walked = {f"{a.method} {_shape(check_answer(a))}" for a in fake.replies}
    served = {f"{m} {_shape(DOC_PATHS[_shape(p)])}" for m, p in fake_routes() if not p.endswith("/stream")}
    assert served <= walked, f"routes of the fake this test does not walk: {sorted(served - walked)}"


async def test_what_the_console_sends_matches_the_documented_bodies(tmp_path: Path):
    """Every request the console's client makes (each write method once) is valid for the document."""
    fake = FakeApi.with_site()
    fake.add_pending("NEW-0001")
    server = FakeApiServer(fake)
    await server.start()
    client = ApiClient(server.url, OPERATOR)
    csv_file = tmp_path / "tags.csv"
    csv_file.write_text(CSV)
    try:
        await client.set_site_limit(180.0, "alice")
        await client.put_id_tag(
            "T1", status="Accepted", expiry_date=iso(T0), parent_id_tag="FLEET-1", operator="a"
        )
        await client.put_id_tag(
            "T1", status="Blocked", expiry_date=None, parent_id_tag=None, operator="alice"
        )
        await client.delete_id_tag("T1", "alice")
        await client.import_id_tags(csv_file.read_text(), "alice")
        await client.set_registration("NEW-0001", "Rejected", "alice")
        await client.set_security("SIM00002", 2, "x" * 16, "alice")
        await client.send_local_list("SIM00002", "Differential", "alice")
        await client.force_close(101, 20200, "alice")
        await client.ack_alert(4, "alice")
        await client.command(
            "SIM00002", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "ab" * 20}
        )
        await client.latest_events(1000)
        await client.events(after=0, limit=500, category=("alert", "operator"))
        await client.transactions(limit=500)
        await client.alerts(state="all")
        await client.chargers(registration="Pending")
    finally:
        await client.close()
        await server.stop()
    assert len(fake.replies) == len(fake.requests), "an answer to the console was not recorded"
    for answer in fake.replies:  # what the console got back, as well as what it sent
        check_answer(answer)
    for request in fake.requests:
        where = f"{request.method} {request.path}"
        _, op = operation(request.method, request.path)
        for name, value in request.query.items():
            params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
            assert name in params, f"{where}: query parameter {name!r} is not documented"
            schema = params[name]["schema"]
            if schema.get("type") == "integer":
                value = int(value)  # noqa: PLW2901 - query strings carry numbers as text
            validate(value, schema, f"{where} ?{name}")
        if request.method in ("PUT", "POST") and "requestBody" in op:
            content = op["requestBody"]["content"]
            media = "text/csv" if isinstance(request.body, str) else "application/json"
            assert media in content, f"{where}: {media} body is not documented"
            validate(request.body, content[media]["schema"], f"{where} body")


async def test_every_frame_of_the_fakes_stream_matches_the_document():
    """The stream's frames are the document's Event without `seq` (docs/api.md: live events are published
    before they are committed; the sequenced log is read over REST): every event of the fake, pushed,
    is checked strictly."""
    frame = copy.deepcopy(COMPONENTS["schemas"]["Event"])
    frame["required"] = [k for k in frame["required"] if k != "seq"]
    frame["properties"].pop("seq")
    fake = FakeApi.with_site()
    assert fake.events, "the fake's site has no events to push"
    server = FakeApiServer(fake)
    await server.start()
    try:
        async with (
            ClientSession() as session,
            session.ws_connect(
                f"{server.url}{API}/stream", headers={"Authorization": f"Bearer {OPERATOR}"}
            ) as ws,
        ):
            await fake.wait_stream()
            for item in fake.events:
                assert await fake.push(item["kind"], item["charger_id"], item["data"]) == 1
                message = await ws.receive_bytes(timeout=30)
                validate(msgpack.unpackb(message), frame, f"stream frame of {item['kind']}")
    finally:
        await server.stop()
    assert [check_answer(a) for a in fake.replies] == [f"{API}/stream"]


def test_this_check_reads_the_document_it_means():
    """Say which openapi.py was checked (a check run against the api branch sets PYTHONPATH to it)."""
    assert Path(openapi.__file__).name == "openapi.py"
    assert "/api/v1/alerts" in DOCUMENT["paths"], f"{openapi.__file__} predates the alerts routes"
