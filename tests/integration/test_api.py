"""The control API over a real appliance and store: every route, its roles, its JSON errors."""

from __future__ import annotations

import asyncio
import csv
import io

import msgpack
import pytest
from ocpp.v16 import call, call_result
from voltyard.api.app import create_app
from voltyard.api.openapi import DOCUMENT
from voltyard.api.tokens import ensure_tokens

from tests.e2e.peer import connected_peer

NOW = "2026-11-25T10:00:00Z"


@pytest.fixture
async def api(appliance, aiohttp_client):
    tokens = ensure_tokens(appliance.config.server.data_dir)
    client = await aiohttp_client(create_app(appliance, tokens))
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
    await error_of(await api.put("/api/v1/site", json={"limit_kw": 5}, headers=api.reader), 403, "forbidden")
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


async def test_registration_and_security_routes(api, appliance) -> None:
    body = await json_of(
        await api.put(
            "/api/v1/chargers/CP-R/registration", json={"registration": "Rejected"}, headers=api.operator
        )
    )
    assert body["registration"] == "Rejected"
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
    await error_of(
        await api.post("/api/v1/chargers/GONE/commands/ClearCache", json={}, headers=api.operator),
        409,
        "charger_offline",
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
    body = await json_of(await api.put("/api/v1/site", json={"limit_kw": 250}, headers=api.operator))
    assert body["limit_kw"] == 250
    assert (await json_of(await api.get("/api/v1/site", headers=api.reader)))["limit_kw"] == 250
    await error_of(
        await api.put("/api/v1/site", json={"limit_kw": "lots"}, headers=api.operator), 422, "invalid_request"
    )
    await error_of(
        await api.put("/api/v1/site", json={"limit_kw": -3}, headers=api.operator), 422, "invalid_request"
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
async def test_payload_that_is_not_64_bit_json_is_422_not_500(api, validate: bool) -> None:
    body = {"action": "UnlockConnector", "payload": {"connectorId": 2**70}, "validate": validate}
    await error_of(
        await api.post("/api/v1/chargers/X/raw", json=body, headers=api.operator), 422, "invalid_request"
    )
