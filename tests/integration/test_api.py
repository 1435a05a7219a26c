"""The control API over a real appliance and store: every route, its roles, its JSON errors."""

from __future__ import annotations

import asyncio
import csv
import io
import re

import msgpack
import pytest
from ocpp.v16 import call, call_result
from voltyard.api.app import create_app
from voltyard.api.openapi import DOCUMENT
from voltyard.api.tokens import ensure_tokens
from voltyard.events.kinds import COMMAND_ORIGIN

from tests.e2e.peer import connected_peer
from tests.e2e.test_v201_peer import peer_201

NOW = "2026-11-25T10:00:00Z"


@pytest.fixture
async def api(appliance, aiohttp_client):
    tokens = ensure_tokens(appliance.config.server.data_dir)
    client = await aiohttp_client(create_app(appliance.api_services(), tokens))
    client.operator = {"Authorization": f"Bearer {tokens['operator']}"}
    client.reader = {"Authorization": f"Bearer {tokens['readonly']}"}
    return client


async def json_of(response, status: int = 200):
    assert response.status == status, await response.text()
    return await response.json()


async def error_of(response, status: int, code: str) -> dict:
    body = await json_of(response, status)
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


async def test_tokens_are_files_readable_by_the_owner_only(appliance) -> None:
    tokens = ensure_tokens(appliance.config.server.data_dir)
    assert set(tokens) == {"operator", "readonly"}
    for role in tokens:
        path = appliance.config.server.data_dir / f"api-token-{role}"
        assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_tokens(appliance.config.server.data_dir) == tokens  # stable across starts


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}])
async def test_401_without_a_valid_token(api, headers) -> None:
    await error_of(await api.get("/api/v1/health", headers=headers), 401, "unauthorized")
    await error_of(await api.get("/metrics", headers=headers), 401, "unauthorized")


async def test_403_for_read_only_tokens_on_mutations(api) -> None:
    await error_of(
        await api.put("/api/v1/site", json={"limit_kw": 5, "operator": "a"}, headers=api.reader),
        403,
        "forbidden",
    )
    await error_of(
        await api.post("/api/v1/chargers/X/commands/Reset", json={}, headers=api.reader), 403, "forbidden"
    )


async def test_openapi_document_is_public_and_names_every_route(api) -> None:
    document = await json_of(await api.get("/api/v1/openapi.json"))
    assert document == DOCUMENT
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in api.server.app.router.routes()
        if route.method != "HEAD"
    }
    documented = {(method, path) for path, item in DOCUMENT["paths"].items() for method in item}
    assert served == documented


async def test_health(api, appliance) -> None:
    body = await json_of(await api.get("/api/v1/health", headers=api.reader))
    assert body["status"] == "ok"
    assert body["chargers"] == {"known": 0, "connected": 0, "online": 0, "offline": 0, "faulted": 0}
    assert set(body) >= {"version", "uptime_s", "transactions", "store", "event_loop_lag_ms", "site"}


async def test_chargers_list_detail_filters_and_404(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-A") as peer:
        await peer.call(call.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted"))
        async with connected_peer(appliance.ocpp_port, "CP-B"):
            listed = await json_of(await api.get("/api/v1/chargers", headers=api.reader))
            assert [c["id"] for c in listed["items"]] == ["CP-A", "CP-B"]
            assert listed["total"] == 2
            faulted = await json_of(await api.get("/api/v1/chargers?status=faulted", headers=api.reader))
            assert [c["id"] for c in faulted["items"]] == ["CP-A"]
            found = await json_of(await api.get("/api/v1/chargers?q=cp-b", headers=api.reader))
            assert [c["id"] for c in found["items"]] == ["CP-B"]
            detail = await json_of(await api.get("/api/v1/chargers/CP-A", headers=api.reader))
            assert detail["vendor"] == "ocpp-library"
            assert detail["connected"] is True
            assert detail["connectors"][0]["status"] == "Faulted"
            assert detail["boot"]["chargePointModel"] == "Peer"
    await error_of(await api.get("/api/v1/chargers/NOPE", headers=api.reader), 404, "not_found")
    await error_of(
        await api.get("/api/v1/chargers?status=sleepy", headers=api.reader), 422, "invalid_request"
    )
    await error_of(await api.get("/api/v1/chargers?limit=x", headers=api.reader), 400, "bad_request")


async def test_registration_and_security_of_an_unknown_charger_are_404_and_create_nothing(
    api, appliance
) -> None:
    for path, body in (("registration", {"registration": "Accepted"}), ("security", {"profile": 0})):
        await error_of(
            await api.put(f"/api/v1/chargers/NOPE/{path}", json=body, headers=api.operator),
            404,
            "unknown_charger",
        )
    assert "NOPE" not in appliance.services.chargers.records
    assert (await json_of(await api.get("/api/v1/chargers", headers=api.reader)))["total"] == 0
    await error_of(await api.get("/api/v1/chargers/NOPE", headers=api.reader), 404, "not_found")


async def test_registration_and_security_routes(api, appliance) -> None:
    for charger_id in ("CP-R", "CP-S"):
        async with connected_peer(appliance.ocpp_port, charger_id):
            pass
    body = await json_of(
        await api.put(
            "/api/v1/chargers/CP-R/registration",
            json={"registration": "Rejected", "operator": "alice"},
            headers=api.operator,
        )
    )
    assert body["registration"] == "Rejected"
    pending = await json_of(await api.get("/api/v1/chargers?registration=Rejected", headers=api.reader))
    assert [c["id"] for c in pending["items"]] == ["CP-R"]
    await error_of(
        await api.put(
            "/api/v1/chargers/CP-R/registration", json={"registration": "Maybe"}, headers=api.operator
        ),
        422,
        "invalid_request",
    )
    key = "00112233445566778899aabbccddeeff"
    body = await json_of(
        await api.put(
            "/api/v1/chargers/CP-R/security", json={"profile": 1, "password": key}, headers=api.operator
        )
    )
    assert body == {"charger_id": "CP-R", "profile": 1}
    assert appliance.services.credentials.of("CP-R").profile == 1
    await error_of(
        await api.put("/api/v1/chargers/CP-S/security", json={"profile": 1}, headers=api.operator),
        422,
        "invalid_request",
    )
    await error_of(
        await api.put(
            "/api/v1/chargers/CP-S/security", json={"profile": 1, "password": "abc"}, headers=api.operator
        ),
        422,
        "invalid_request",
    )
    await error_of(
        await api.put("/api/v1/chargers/CP-S/security", data="{", headers=api.operator), 400, "bad_request"
    )


async def test_commands_return_the_answer_or_a_typed_error(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-CMD") as peer:
        body = await json_of(
            await api.post(
                "/api/v1/chargers/CP-CMD/commands/Reset", json={"type": "Soft"}, headers=api.operator
            )
        )
        assert body == {"action": "Reset", "answer": {"status": "Accepted"}}
        await error_of(
            await api.post(
                "/api/v1/chargers/CP-CMD/commands/Reset", json={"type": "Sideways"}, headers=api.operator
            ),
            422,
            "invalid_request",
        )
        await error_of(
            await api.post("/api/v1/chargers/CP-CMD/commands/Heartbeat", json={}, headers=api.operator),
            422,
            "invalid_request",
        )
        peer.answers["ClearCache"] = call_result.ClearCache("Rejected")
        body = await json_of(
            await api.post("/api/v1/chargers/CP-CMD/commands/ClearCache", json={}, headers=api.operator)
        )
        assert body["answer"] == {"status": "Rejected"}
        raw = await json_of(
            await api.post(
                "/api/v1/chargers/CP-CMD/raw",
                json={"action": "UnlockConnector", "payload": {"connectorId": 1}},
                headers=api.operator,
            )
        )
        assert raw["answer"] == {"status": "Unlocked"}
        # Deliberately unchecked: the request goes out as is; the charger's CALLERROR comes back as 502.
        error = await error_of(
            await api.post(
                "/api/v1/chargers/CP-CMD/raw",
                json={"action": "Reset", "payload": {"type": 7}, "validate": False},
                headers=api.operator,
            ),
            502,
            "call_error",
        )
        assert error["details"]["error_code"] in ("TypeConstraintViolation", "FormationViolation")
    # Known but gone: 409. Never known: 404 (it is not "offline", there is no such charger).
    await error_of(
        await api.post("/api/v1/chargers/CP-CMD/commands/ClearCache", json={}, headers=api.operator),
        409,
        "charger_offline",
    )
    await error_of(
        await api.post("/api/v1/chargers/GONE/commands/ClearCache", json={}, headers=api.operator),
        404,
        "unknown_charger",
    )
    await error_of(
        await api.post("/api/v1/chargers/GONE/raw", json={"action": "ClearCache"}, headers=api.operator),
        404,
        "unknown_charger",
    )


async def test_command_timeout_is_504(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-SLOW") as peer:

        async def never(**kwargs):
            await asyncio.sleep(5)

        peer.route_map["ClearCache"]["_on_action"] = never
        await error_of(
            await api.post(
                "/api/v1/chargers/CP-SLOW/commands/ClearCache?timeout=1", json={}, headers=api.operator
            ),
            504,
            "timeout",
        )


async def test_transactions_history_detail_and_force_close(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-TX") as peer:
        first = await peer.call(
            call.StartTransaction(connector_id=1, id_tag="TAG", meter_start=10, timestamp=NOW)
        )
        meter = [{"timestamp": NOW, "sampledValue": [{"value": "20"}]}]
        await peer.call(
            call.MeterValues(connector_id=1, transaction_id=first.transaction_id, meter_value=meter)
        )
        await peer.call(
            call.StopTransaction(meter_stop=40, timestamp=NOW, transaction_id=first.transaction_id)
        )
        second = await peer.call(
            call.StartTransaction(connector_id=2, id_tag="TAG", meter_start=0, timestamp=NOW)
        )
    await appliance.store.flush()
    active = await json_of(await api.get("/api/v1/transactions?active=true", headers=api.reader))
    assert [t["id"] for t in active["items"]] == [second.transaction_id]
    history = await json_of(await api.get("/api/v1/transactions?charger_id=CP-TX", headers=api.reader))
    assert history["total"] == 2
    detail = await json_of(await api.get(f"/api/v1/transactions/{first.transaction_id}", headers=api.reader))
    assert detail["energy_wh"] == 30
    assert detail["meter_values"][0]["energy_wh"] == 20.0
    assert detail["stop_records"][0]["flag"] == "Stopped"
    closed = await json_of(
        await api.post(
            f"/api/v1/transactions/{second.transaction_id}/force-close",
            json={"meter_stop": 5, "operator": "alice"},
            headers=api.operator,
        )
    )
    assert (closed["active"], closed["stop_flag"]) == (False, "ForcedClose")
    await error_of(
        await api.post(
            f"/api/v1/transactions/{second.transaction_id}/force-close",
            json={"meter_stop": 5, "operator": "alice"},
            headers=api.operator,
        ),
        409,
        "conflict",
    )
    await error_of(
        await api.post(
            f"/api/v1/transactions/{second.transaction_id}/force-close",
            json={"meter_stop": -1, "operator": "a"},
            headers=api.operator,
        ),
        422,
        "invalid_request",
    )
    await error_of(await api.get("/api/v1/transactions/999999", headers=api.reader), 404, "not_found")
    await error_of(await api.get("/api/v1/transactions/abc", headers=api.reader), 404, "not_found")
    # Past SQLite's 64-bit integers: no such transaction, not a 500 from the store.
    await error_of(await api.get(f"/api/v1/transactions/{2**63}", headers=api.reader), 404, "not_found")
    await error_of(
        await api.get("/api/v1/transactions?active=maybe", headers=api.reader), 422, "invalid_request"
    )


async def test_id_tags_and_local_list(api, appliance) -> None:
    body = await json_of(
        await api.put(
            "/api/v1/id-tags/TAG-1", json={"status": "Blocked", "parent_id_tag": "P"}, headers=api.operator
        )
    )
    assert body == {"id_tag": "TAG-1", "status": "Blocked", "expiry_date": None, "parent_id_tag": "P"}
    assert (await json_of(await api.get("/api/v1/id-tags", headers=api.reader)))["items"] == [body]
    assert appliance.services.authorization.id_tag_info("TAG-1")["status"] == "Blocked"
    await error_of(
        await api.put("/api/v1/id-tags/TAG-2", json={"status": "Sure"}, headers=api.operator),
        422,
        "invalid_request",
    )
    await error_of(
        await api.put("/api/v1/id-tags/TAG-2", json={"expiry_date": "soon"}, headers=api.operator),
        422,
        "invalid_request",
    )
    async with connected_peer(appliance.ocpp_port, "CP-LL"):
        request = {
            "listVersion": 3,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": "TAG-1", "idTagInfo": {"status": "Accepted"}}],
        }
        await json_of(
            await api.post(
                "/api/v1/chargers/CP-LL/commands/SendLocalList", json=request, headers=api.operator
            )
        )
    local = await json_of(await api.get("/api/v1/chargers/CP-LL/local-list", headers=api.reader))
    assert local["version"] == 3
    assert [item["id_tag"] for item in local["items"]] == ["TAG-1"]
    await error_of(await api.get("/api/v1/chargers/NOPE/local-list", headers=api.reader), 404, "not_found")


async def test_messages_filters_and_exports(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-MSG") as peer:
        await peer.call(call.Heartbeat())
        await api.post("/api/v1/chargers/CP-MSG/commands/ClearCache", json={}, headers=api.operator)
    await appliance.store.flush()
    everything = await json_of(await api.get("/api/v1/messages?charger_id=CP-MSG", headers=api.reader))
    assert {m["action"] for m in everything["items"]} == {"BootNotification", "Heartbeat", "ClearCache"}
    out = await json_of(await api.get("/api/v1/messages?charger_id=CP-MSG&direction=out", headers=api.reader))
    assert [m["action"] for m in out["items"]] == ["ClearCache"]
    assert out["items"][0]["reply"].startswith("[3,")
    heartbeats = await json_of(await api.get("/api/v1/messages?action=Heartbeat", headers=api.reader))
    assert len(heartbeats["items"]) == 1
    exported = await api.get("/api/v1/messages/export?format=csv&charger_id=CP-MSG", headers=api.reader)
    assert exported.status == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    assert {row["action"] for row in rows} == {"BootNotification", "Heartbeat", "ClearCache"}
    exported = await json_of(await api.get("/api/v1/messages/export?format=json", headers=api.reader))
    assert len(exported["items"]) == 3
    await error_of(await api.get("/api/v1/messages?direction=up", headers=api.reader), 422, "invalid_request")
    await error_of(await api.get("/api/v1/messages?since=yesterday", headers=api.reader), 400, "bad_request")


async def test_events_after_cursor_and_sync(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-EV"):
        pass
    await appliance.store.flush()
    page = await json_of(await api.get("/api/v1/events?limit=2", headers=api.reader))
    assert len(page["items"]) == 2
    rest = await json_of(await api.get(f"/api/v1/events?after={page['next']}", headers=api.reader))
    assert rest["items"][0]["seq"] > page["next"]
    kinds = {e["kind"] for e in page["items"] + rest["items"]}
    assert {"ChargerConnected", "ChargerBooted", "ChargerDisconnected"} <= kinds
    synced = await json_of(
        await api.post(
            "/api/v1/events/sync", json={"consumer": "cloud", "seq": page["next"]}, headers=api.operator
        )
    )
    assert synced == {"consumer": "cloud", "seq": page["next"]}
    assert (await json_of(await api.get("/api/v1/events/sync/cloud", headers=api.reader)))["seq"] == page[
        "next"
    ]
    await error_of(
        await api.post("/api/v1/events/sync", json={"consumer": "", "seq": 1}, headers=api.operator),
        422,
        "invalid_request",
    )


async def test_site_limit_and_cabinet(api, appliance) -> None:
    body = await json_of(
        await api.put("/api/v1/site", json={"limit_kw": 250, "operator": "alice"}, headers=api.operator)
    )
    assert body["limit_kw"] == 250
    assert (await json_of(await api.get("/api/v1/site", headers=api.reader)))["limit_kw"] == 250
    await error_of(
        await api.put("/api/v1/site", json={"limit_kw": "lots", "operator": "a"}, headers=api.operator),
        422,
        "invalid_request",
    )
    await error_of(
        await api.put("/api/v1/site", json={"limit_kw": -3, "operator": "a"}, headers=api.operator),
        422,
        "invalid_request",
    )
    cabinet = await json_of(await api.get("/api/v1/cabinet", headers=api.reader))
    assert cabinet["configured"] is False


async def test_metrics_exposition(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-M") as peer:
        await peer.call(call.Heartbeat())
        text = await (await api.get("/metrics", headers=api.reader)).text()
    assert 'voltyard_messages_total{action="Heartbeat",direction="in"} 1' in text
    assert "voltyard_connections 1" in text
    assert 'voltyard_handling_seconds_bucket{le="+Inf"} 2' in text
    assert "# TYPE voltyard_handling_seconds histogram" in text
    assert "voltyard_frames_refused_total 0" in text
    assert "voltyard_handshakes_refused_total 0" in text


async def test_unknown_route_is_a_json_404(api) -> None:
    await error_of(await api.get("/api/v1/nothing", headers=api.reader), 404, "not_found")


async def test_event_stream_with_filters(api, appliance) -> None:
    ws = await api.ws_connect("/api/v1/stream?kinds=ConnectorStatusChanged", headers=api.reader)
    async with connected_peer(appliance.ocpp_port, "CP-ST") as peer:
        await peer.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
        event = msgpack.unpackb((await asyncio.wait_for(ws.receive(), 5)).data)
        assert event["kind"] == "ConnectorStatusChanged"
        assert event["charger_id"] == "CP-ST"
        assert event["data"]["status"] == "Charging"
        # Change the filter to the per-frame events of the inspector.
        await ws.send_bytes(msgpack.packb({"kinds": ["MessageIn"], "chargers": ["CP-ST"]}))
        await asyncio.sleep(0.05)
        await peer.call(call.Heartbeat())
        event = msgpack.unpackb((await asyncio.wait_for(ws.receive(), 5)).data)
        assert (event["kind"], event["data"]["action"]) == ("MessageIn", "Heartbeat")
    await ws.close()


@pytest.mark.parametrize("validate", [True, False])
async def test_payload_that_is_not_64_bit_json_is_422_not_500(api, appliance, validate: bool) -> None:
    async with connected_peer(appliance.ocpp_port, "X"):
        body = {"action": "UnlockConnector", "payload": {"connectorId": 2**70}, "validate": validate}
        await error_of(
            await api.post("/api/v1/chargers/X/raw", json=body, headers=api.operator), 422, "invalid_request"
        )


# --- issue 15: an operator's day through the API --------------------------------------------------------

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
KWH_READING = [
    {
        "timestamp": NOW,
        "sampledValue": [
            {"value": "25.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
        ],
    }
]


async def test_an_active_transaction_shows_its_energy_from_a_kwh_reading(api, appliance) -> None:
    """Finding 5: energy_wh was null for an active transaction with a 25.5 kWh reading."""
    async with connected_peer(appliance.ocpp_port, "CP-E") as peer:
        started = await peer.call(
            call.StartTransaction(connector_id=1, id_tag="TAG", meter_start=1000, timestamp=NOW)
        )
        await peer.call(
            call.MeterValues(connector_id=1, transaction_id=started.transaction_id, meter_value=KWH_READING)
        )
        await appliance.store.flush()
        active = await json_of(await api.get("/api/v1/transactions?active=true", headers=api.reader))
        (item,) = active["items"]
        assert item["energy_wh"] == 24_500  # 25 500 Wh read, 1 000 at the start
        assert item["duration_s"] > 0
        detail = await json_of(await api.get("/api/v1/chargers/CP-E", headers=api.reader))
        assert detail["active_transactions"][0]["energy_wh"] == 24_500
        await peer.call(
            call.StopTransaction(meter_stop=26_000, timestamp=NOW, transaction_id=started.transaction_id)
        )
    await appliance.store.flush()
    stopped = await json_of(
        await api.get(f"/api/v1/transactions/{started.transaction_id}", headers=api.reader)
    )
    assert (stopped["energy_wh"], stopped["duration_s"]) == (25_000, 0.0)


async def test_every_time_the_api_writes_is_iso_utc_with_a_z(api, appliance) -> None:
    """Finding 10: times were mixed (ISO strings, unix floats)."""
    ws = await api.ws_connect("/api/v1/stream?kinds=TransactionStarted", headers=api.reader)
    async with connected_peer(appliance.ocpp_port, "CP-T") as peer:
        started = await peer.call(
            call.StartTransaction(
                connector_id=1, id_tag="TAG", meter_start=0, timestamp="2026-11-25T11:00:00+01:00"
            )
        )
        await peer.call(
            call.MeterValues(connector_id=1, transaction_id=started.transaction_id, meter_value=KWH_READING)
        )
        frame = msgpack.unpackb((await asyncio.wait_for(ws.receive(), 5)).data)
        assert ISO_Z.match(frame["time"])
        assert frame["category"] == "transaction"
        await peer.call(
            call.StopTransaction(meter_stop=5, timestamp=NOW, transaction_id=started.transaction_id)
        )
        charger = await json_of(await api.get("/api/v1/chargers/CP-T", headers=api.reader))
    await ws.close()
    await appliance.store.flush()
    assert ISO_Z.match(charger["last_seen"])
    detail = await json_of(
        await api.get(f"/api/v1/transactions/{started.transaction_id}", headers=api.reader)
    )
    # A charger's own times are normalised: 11:00 at +01:00 is 10:00 UTC.
    assert detail["start_time"] == "2026-11-25T10:00:00.000Z"
    assert detail["stop_time"] == "2026-11-25T10:00:00.000Z"
    assert detail["meter_values"][0]["timestamp"] == "2026-11-25T10:00:00.000Z"
    assert ISO_Z.match(detail["stop_records"][0]["received_at"])
    events = await json_of(await api.get("/api/v1/events?latest=50", headers=api.reader))
    assert events["items"]
    assert all(ISO_Z.match(e["time"]) for e in events["items"])


async def test_since_and_until_are_iso_and_anything_else_is_refused_by_name(api, appliance) -> None:
    """Finding 11: `since` accepted only unix seconds."""
    async with connected_peer(appliance.ocpp_port, "CP-SI") as peer:
        await peer.call(call.StartTransaction(connector_id=1, id_tag="TAG", meter_start=0, timestamp=NOW))
    await appliance.store.flush()
    found = await json_of(
        await api.get(
            "/api/v1/transactions?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00%2B02:00",
            headers=api.reader,
        )
    )
    assert found["total"] == 1
    none = await json_of(await api.get("/api/v1/transactions?since=2999-01-01T00:00:00Z", headers=api.reader))
    assert none["total"] == 0
    for bad in ("1700000000", "2026-01-01T00:00:00", "yesterday"):
        error = await error_of(
            await api.get(f"/api/v1/transactions?since={bad}", headers=api.reader), 400, "bad_request"
        )
        assert "since" in error["message"]
        assert bad in error["message"]


async def test_unknown_json_keys_are_422_naming_them(api, appliance) -> None:
    """Finding 11: unknown JSON keys were ignored (a misspelt limit did nothing, silently)."""
    error = await error_of(
        await api.put("/api/v1/site", json={"limt_kw": 5, "operator": "a"}, headers=api.operator),
        422,
        "invalid_request",
    )
    assert "unknown key(s): limt_kw" in error["message"]
    assert error["details"]["unknown_keys"] == ["limt_kw"]
    assert appliance.site.limit_kw != 5
    await error_of(
        await api.put("/api/v1/id-tags/T1", json={"status": "Accepted", "expiry": "x"}, headers=api.operator),
        422,
        "invalid_request",
    )
    await error_of(
        await api.post(
            "/api/v1/events/sync", json={"consumer": "c", "seq": 1, "sq": 2}, headers=api.operator
        ),
        422,
        "invalid_request",
    )
    # The site limit needs who changes it.
    error = await error_of(
        await api.put("/api/v1/site", json={"limit_kw": 5}, headers=api.operator), 422, "invalid_request"
    )
    assert "operator" in error["message"]


async def test_site_limit_change_is_audited_in_the_operator_category(api, appliance) -> None:
    await json_of(
        await api.put("/api/v1/site", json={"limit_kw": 120, "operator": "alice"}, headers=api.operator)
    )
    await appliance.store.flush()
    page = await json_of(await api.get("/api/v1/events?category=operator", headers=api.reader))
    (changed,) = [e for e in page["items"] if e["kind"] == "SiteLimitChanged"]
    assert changed["category"] == "operator"
    assert changed["data"]["operator"] == "alice"
    assert changed["data"]["limitKw"] == 120


async def test_a_rejected_authorize_raises_an_event(api, appliance) -> None:
    """Finding 11: a refused swipe left no trace but the message log."""
    async with connected_peer(appliance.ocpp_port, "CP-AU") as peer:
        answer = await peer.call(call.Authorize(id_tag="STRANGER"))
        assert answer.id_tag_info["status"] == "Invalid"
    await appliance.store.flush()
    page = await json_of(await api.get("/api/v1/events?category=charger", headers=api.reader))
    (rejected,) = [e for e in page["items"] if e["kind"] == "AuthorizeRejected"]
    assert rejected["charger_id"] == "CP-AU"
    assert rejected["data"] == {"idTag": "STRANGER", "status": "Invalid"}


async def test_events_latest_backlog_and_categories(api, appliance) -> None:
    """Finding 6: the console read the first events from seq 0, so old history hid a recent alert."""
    async with connected_peer(appliance.ocpp_port, "CP-L") as peer:
        await peer.call(call.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted"))
        for _ in range(20):
            await peer.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
            await peer.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
    await appliance.store.flush()
    newest = await json_of(await api.get("/api/v1/events?latest=3", headers=api.reader))
    everything = await json_of(await api.get("/api/v1/events?limit=5000", headers=api.reader))
    assert [e["seq"] for e in newest["items"]] == [e["seq"] for e in everything["items"][-3:]]
    assert newest["next"] == everything["items"][-1]["seq"]
    # Alerts only: the GroundFailure alert, however many charger events came after it.
    alerts = await json_of(await api.get("/api/v1/events?latest=10&category=alert", headers=api.reader))
    # (the automatic response to it, ChangeAvailability Inoperative, is an alert too)
    assert [e["kind"] for e in alerts["items"]] == ["Alert", "AutomaticResponse"]
    assert alerts["items"][0]["data"]["errorCode"] == "GroundFailure"
    assert {e["category"] for e in everything["items"]} >= {"alert", "charger"}
    both = await json_of(await api.get("/api/v1/events?category=alert,charger", headers=api.reader))
    assert {e["category"] for e in both["items"]} == {"alert", "charger"}
    await error_of(
        await api.get("/api/v1/events?category=gossip", headers=api.reader), 422, "invalid_request"
    )
    await error_of(await api.get("/api/v1/events?latest=0", headers=api.reader), 422, "invalid_request")
    await error_of(
        await api.get("/api/v1/events?latest=2&after=1", headers=api.reader), 422, "invalid_request"
    )


async def test_alerts_are_listed_and_acknowledged_once(api, appliance) -> None:
    async with connected_peer(appliance.ocpp_port, "CP-AL") as peer:
        await peer.call(call.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted"))
    await appliance.store.flush()
    listed = (await json_of(await api.get("/api/v1/alerts", headers=api.reader)))["items"]
    # Newest first: the automatic response (ChangeAvailability Inoperative), then the fault itself.
    assert [a["kind"] for a in listed] == ["AutomaticResponse", "Alert"]
    alert = listed[1]
    assert (alert["data"]["errorCode"], alert["charger_id"], alert["acknowledged_by"]) == (
        "GroundFailure",
        "CP-AL",
        None,
    )
    acked = await json_of(
        await api.post(f"/api/v1/alerts/{alert['seq']}/ack", json={"operator": "bob"}, headers=api.operator)
    )
    assert acked["acknowledged_by"] == "bob"
    assert ISO_Z.match(acked["acknowledged_at"])
    await error_of(
        await api.post(f"/api/v1/alerts/{alert['seq']}/ack", json={"operator": "bob"}, headers=api.operator),
        409,
        "conflict",
    )
    await error_of(
        await api.post("/api/v1/alerts/999999/ack", json={"operator": "b"}, headers=api.operator),
        404,
        "not_found",
    )
    await error_of(
        await api.post(f"/api/v1/alerts/{2**76}/ack", json={"operator": "b"}, headers=api.operator),
        404,
        "not_found",
    )
    await error_of(
        await api.post(f"/api/v1/alerts/{alert['seq']}/ack", json={}, headers=api.operator),
        422,
        "invalid_request",
    )
    still_open = (await json_of(await api.get("/api/v1/alerts", headers=api.reader)))["items"]
    assert [a["seq"] for a in still_open] == [listed[0]["seq"]]
    everything = (await json_of(await api.get("/api/v1/alerts?state=all", headers=api.reader)))["items"]
    assert [a["seq"] for a in everything] == [a["seq"] for a in listed]
    done = await json_of(await api.get("/api/v1/alerts?state=acknowledged", headers=api.reader))
    assert [a["seq"] for a in done["items"]] == [alert["seq"]]
    await appliance.store.flush()
    audit = await json_of(await api.get("/api/v1/events?category=operator", headers=api.reader))
    assert [e["data"] for e in audit["items"] if e["kind"] == "AlertAcknowledged"] == [
        {"alertSeq": alert["seq"], "operator": "bob"}
    ]


async def test_command_answers_are_recorded_by_who_sent_them(api, appliance) -> None:
    """Finding 6: answers to commands were not recorded; the power manager's commands drowned the
    operator's."""
    async with connected_peer(appliance.ocpp_port, "CP-CA") as peer:
        peer.answers["ClearCache"] = call_result.ClearCache("Rejected")
        await json_of(
            await api.post("/api/v1/chargers/CP-CA/commands/ClearCache", json={}, headers=api.operator)
        )

        async def as_power_manager() -> None:
            COMMAND_ORIGIN.set("power")
            await appliance.commands.call("CP-CA", "UnlockConnector", {"connectorId": 1})

        await asyncio.create_task(as_power_manager())
    await appliance.store.flush()
    operator = await json_of(await api.get("/api/v1/events?category=operator", headers=api.reader))
    (answered,) = [e for e in operator["items"] if e["kind"] == "CommandAnswered"]
    assert answered["data"]["action"] == "ClearCache"
    assert answered["data"]["status"] == "Rejected"
    (sent,) = [e for e in operator["items"] if e["kind"] == "CommandSent"]
    assert answered["data"]["messageId"] == sent["data"]["messageId"]
    power = await json_of(await api.get("/api/v1/events?category=power", headers=api.reader))
    assert {(e["kind"], e["data"]["action"]) for e in power["items"]} == {
        ("CommandSent", "UnlockConnector"),
        ("CommandAnswered", "UnlockConnector"),
    }


async def test_charger_view_keeps_security_profile_and_availability_and_last_seen_moves(
    api, appliance
) -> None:
    """Finding 11: last_seen moved only on heartbeats."""
    async with connected_peer(appliance.ocpp_port, "CP-LS") as peer:
        await peer.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        first = await json_of(await api.get("/api/v1/chargers/CP-LS", headers=api.reader))
        await asyncio.sleep(0.05)
        await peer.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
        second = await json_of(await api.get("/api/v1/chargers/CP-LS", headers=api.reader))
    assert second["last_seen"] > first["last_seen"]
    assert second["security_profile"] == 0
    assert second["connectors"][0]["availability"] == "Operative"


async def test_id_tags_delete_import_and_local_list_send(api, appliance) -> None:
    await json_of(await api.put("/api/v1/id-tags/OLD", json={"operator": "alice"}, headers=api.operator))
    assert (await api.delete("/api/v1/id-tags/OLD", headers=api.operator)).status == 204
    await error_of(await api.delete("/api/v1/id-tags/OLD", headers=api.operator), 404, "not_found")
    good = (
        "id_tag,status,expiry_date,parent_id_tag\nA1,Accepted,2030-01-01T00:00:00Z,\nB2,Blocked,,A1\nC3,,,\n"
    )
    imported = await json_of(
        await api.post(
            "/api/v1/id-tags/import", data=good, headers=api.operator | {"Content-Type": "text/csv"}
        )
    )
    assert imported == {"imported": 3}
    tags = {
        t["id_tag"]: t for t in (await json_of(await api.get("/api/v1/id-tags", headers=api.reader)))["items"]
    }
    assert tags["A1"]["expiry_date"] == "2030-01-01T00:00:00.000Z"
    assert (tags["B2"]["status"], tags["B2"]["parent_id_tag"], tags["C3"]["status"]) == (
        "Blocked",
        "A1",
        "Accepted",
    )
    bad = "id_tag,status\nD4,Accepted\nE5,Sure\n"
    error = await error_of(
        await api.post(
            "/api/v1/id-tags/import", data=bad, headers=api.operator | {"Content-Type": "text/csv"}
        ),
        422,
        "invalid_request",
    )
    assert "line 3" in error["message"]
    assert "status" in error["message"]
    assert "D4" not in appliance.services.authorization.tags  # all or nothing
    async with connected_peer(appliance.ocpp_port, "CP-LL2"):
        sent = await json_of(
            await api.post("/api/v1/chargers/CP-LL2/local-list/send", json={}, headers=api.operator)
        )
        assert sent == {"action": "SendLocalList", "answer": {"status": "Accepted"}}
    local = await json_of(await api.get("/api/v1/chargers/CP-LL2/local-list", headers=api.reader))
    assert local["version"] == 1
    assert [item["id_tag"] for item in local["items"]] == ["A1", "B2", "C3"]
    await error_of(
        await api.post("/api/v1/chargers/NOPE/local-list/send", json={}, headers=api.operator),
        404,
        "unknown_charger",
    )


async def test_a_2x_chargers_readings_count_in_the_site_power_and_the_live_stream(api, appliance) -> None:
    """1.6 readings set the connector's power now (the site's power, the power manager's measurements) and
    go out live; a 2.x charger's, in its TransactionEvents and MeterValues, did neither."""
    from ocpp.v201 import call as call201  # noqa: PLC0415

    ws = await api.ws_connect("/api/v1/stream?kinds=MeterValues", headers=api.reader)

    def reading(watts: float, wh: float) -> list[dict]:
        return [{"timestamp": NOW, "sampledValue": [
            {"value": wh, "measurand": "Energy.Active.Import.Register"},
            {"value": watts, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
        ]}]  # fmt: skip

    async with peer_201(appliance.ocpp_port, "CS-POWER") as peer:
        base = {"timestamp": NOW, "transaction_info": {"transaction_id": "TX-P"}}
        await peer.call(
            call201.TransactionEvent(
                event_type="Started", trigger_reason="CablePluggedIn", seq_no=0,
                evse={"id": 2, "connectorId": 1}, meter_value=reading(3000.0, 100.0), **base,
            )
        )  # fmt: skip
        site = await json_of(await api.get("/api/v1/site", headers=api.reader))
        assert site["power_kw"] == 3.0
        await peer.call(
            call201.TransactionEvent(
                event_type="Updated", trigger_reason="MeterValuePeriodic", seq_no=1,
                meter_value=reading(7400.0, 600.0), **base,
            )
        )  # fmt: skip
        site = await json_of(await api.get("/api/v1/site", headers=api.reader))
        assert site["power_kw"] == 7.4
        assert appliance.services.transactions.power_w[("CS-POWER", 2)] == 7400.0
        frames = [msgpack.unpackb((await asyncio.wait_for(ws.receive(), 5)).data) for _ in range(2)]
        assert [(f["charger_id"], f["data"]["connectorId"], f["data"]["powerW"]) for f in frames] == [
            ("CS-POWER", 2, 3000.0), ("CS-POWER", 2, 7400.0)
        ]  # fmt: skip
        await peer.call(call201.MeterValues(evse_id=0, meter_value=reading(7600.0, 900.0)))
        frame = msgpack.unpackb((await asyncio.wait_for(ws.receive(), 5)).data)
        data = frame["data"]
        assert (data["connectorId"], data["transactionId"], data["powerW"]) == (0, None, 7600.0)
        await peer.call(
            call201.TransactionEvent(event_type="Ended", trigger_reason="EVDeparted", seq_no=2, **base)
        )
    await ws.close()
    assert ("CS-POWER", 2) not in appliance.services.transactions.power_w  # its session is over


COMMAND_IDS_NAMING_NOTHING = [
    ("1.6", "ReserveNow", {"connectorId": -1, "expiryDate": NOW, "idTag": "T", "reservationId": 1},
     "/connectorId: -1 is not 0 (the charge point) or a connector from 1"),
    ("1.6", "RemoteStartTransaction", {"connectorId": 0, "idTag": "T"},
     "/connectorId: 0 is not a connector from 1"),
    ("1.6", "UnlockConnector", {"connectorId": 0}, "/connectorId: 0 is not a connector from 1"),
    ("1.6", "SetChargingProfile", {"connectorId": -2, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {
            "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1000}]}}},
     "/connectorId: -2 is not 0 (the charge point) or a connector from 1"),
    ("2.0.1", "RequestStartTransaction", {"evseId": 0, "remoteStartId": 1, "idToken": {
        "idToken": "T", "type": "Central"}}, "/evseId: 0 is not an EVSE from 1"),
    ("2.0.1", "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 0}},
     "/evse/id: 0 is not an EVSE from 1"),
    ("2.0.1", "TriggerMessage",
     {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": -1}},
     "/evse/connectorId: -1 is not a connector from 1"),
    ("2.0.1", "SetVariables", {"setVariableData": [{"attributeValue": "1", "variable": {"name": "Enabled"},
        "component": {"name": "Connector", "evse": {"id": -3}}}]},
     "/setVariableData/0/component/evse/id: -3 is not an EVSE from 1"),
]  # fmt: skip


@pytest.mark.parametrize(("version", "action", "request_", "message"), COMMAND_IDS_NAMING_NOTHING)
async def test_a_command_naming_a_connector_or_evse_that_cannot_exist_is_422_and_not_sent(
    api, appliance, version: str, action: str, request_: dict, message: str
) -> None:
    """The charger's own calls were held to this (a negative connectorId is refused); the operator's were
    sent as they came, and an accepted reservation or profile for connector -1 was stored."""
    charger_id = f"CP-IDS-{version.replace('.', '')}"
    peer_of = connected_peer if version == "1.6" else peer_201
    async with peer_of(appliance.ocpp_port, charger_id):
        error = await error_of(
            await api.post(
                f"/api/v1/chargers/{charger_id}/commands/{action}", json=request_, headers=api.operator
            ),
            422,
            "invalid_request",
        )
        assert error["message"] == f"{action} request: PropertyConstraintViolation: {message}"
    await appliance.store.flush()
    out = await json_of(
        await api.get(f"/api/v1/messages?charger_id={charger_id}&direction=out", headers=api.reader)
    )
    assert out["items"] == []
