"""End to end, one case per action of OCPP 2.0.1 and 2.1: the `ocpp` library's v201 and v21 ChargePoints
over real sockets against a real appliance.

- Every charger-initiated action of each version (the action table, not a hand list): the library's
  ChargePoint sends the CALL with the valid payload of tests/fixtures/frames/<version>/valid, the answer
  passes the library's own schema validation (`ChargePoint.call` validates it; `skip_schema_validation` is
  passed False on purpose) and the exchange, CALL in and CALLRESULT out, is in the message log.
- Every CSMS-initiated action: sent through the control API's `POST /chargers/{id}/commands/{action}`
  (the `commands` service behind it), it reaches the library's ChargePoint (a handler registered per action
  from the table, answering with the fixture's valid answer, which the library validates before sending),
  and that answer comes back to the HTTP caller and is in the message log.

One appliance and one connected charger per version serve the whole module, so ~200 cases take seconds.
The action-table tests (tables equal to the schema sets) are in test_v201_peer.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from types import ModuleType
from typing import Any

import ocpp.v21
import ocpp.v201
import pytest
import pytest_asyncio
import websockets
from aiohttp import ClientSession
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.routing import on
from voltyard.api.tokens import ensure_tokens
from voltyard.config import load_config
from voltyard.ocpp.actions import ACTION_TABLES, Direction
from voltyard.runtime import Appliance
from voltyard.store.message_log import Exchange, MessageLog

from tests.conftest import FRAMES_OF
from tests.e2e.peer import open_websocket

pytestmark = pytest.mark.asyncio(loop_scope="module")

VERSIONS = ("2.0.1", "2.1")
LIBRARY: dict[str, ModuleType] = {"2.0.1": ocpp.v201, "2.1": ocpp.v21}
SUBPROTOCOL = {"2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
CHARGER_ID = {"2.0.1": "CP-E2E-201", "2.1": "CP-E2E-21"}
STATION = {"model": "M2", "vendorName": "V2", "serialNumber": "S-2", "firmwareVersion": "1.0"}


def fixture_payload(version: str, schema: str) -> dict[str, Any]:
    """The payload of the valid golden frame of `schema` (`<Action>Request`, `<Action>Response` or a SEND's
    `<Action>`) in `version`."""
    frame = json.loads((FRAMES_OF[version] / "valid" / f"{schema}.json").read_text(encoding="utf-8"))
    payload = frame[-1]
    assert isinstance(payload, dict)
    return payload


def library_object(module: ModuleType, action: str, payload: dict[str, Any]) -> Any:
    """The library's dataclass of `action` (from its `call` or `call_result` module) holding `payload`.

    Only the top-level keys become the dataclass's snake_case fields, each matched by the library's own
    camelCase conversion (`camel_to_snake_case` does not invert it for every key: 2.1's
    `iso15118SchemaVersion` is the field `iso_15118_schema_version`); nested objects stay as the schema
    spells them, which the library's conversion leaves alone (2.1 BatterySwap's `soC` and `soH` would not
    survive a round trip through snake_case)."""
    cls = getattr(module, action)
    field_of = {
        snake_to_camel_case({field.name: None}).popitem()[0]: field.name for field in dataclasses.fields(cls)
    }
    return cls(**{field_of[key]: value for key, value in payload.items()})


def as_sent(payload: Any) -> dict[str, Any]:
    """The JSON payload the library sends for one of its dataclasses (as `ChargePoint.call` and its
    answer path build it)."""
    sent = remove_nones(snake_to_camel_case(serialize_as_dict(payload)))
    assert isinstance(sent, dict)
    return sent


def charger_actions(version: str) -> list[str]:
    return sorted(ACTION_TABLES[version].sent_by(Direction.CHARGER))


def csms_actions(version: str) -> list[str]:
    return sorted(ACTION_TABLES[version].sent_by(Direction.CSMS))


def _answering(version: str, action: str) -> Callable[..., Any]:
    """The handler of `action`: records the request and answers with the fixture's valid answer."""
    answer = library_object(
        LIBRARY[version].call_result, action, fixture_payload(version, f"{action}Response")
    )

    def handle(self: Any, **request: Any) -> Any:
        self.received.append((action, request))
        return answer

    # The library routes by the attribute name recorded at decoration time, so name it first.
    handle.__name__ = f"on_{action}"
    handler: Callable[..., Any] = on(action)(handle)
    return handler


def _peer_class(version: str) -> type[Any]:
    """The library's ChargePoint of `version` with a handler for every CSMS-initiated action of its table."""

    def __init__(self: Any, charger_id: str, connection: Any) -> None:
        LIBRARY[version].ChargePoint.__init__(self, charger_id, connection, response_timeout=10)
        self.received = []

    handlers = {f"on_{action}": _answering(version, action) for action in csms_actions(version)}
    return type(
        f"Peer{version.replace('.', '')}", (LIBRARY[version].ChargePoint,), {"__init__": __init__, **handlers}
    )


@dataclasses.dataclass
class Site:
    """The module's running appliance, its control API and a connected, booted library charger per version."""

    appliance: Appliance
    http: ClientSession
    api: str
    token: str
    peers: dict[str, Any]


@contextlib.asynccontextmanager
async def _connected(port: int, version: str) -> AsyncIterator[Any]:
    websocket = await open_websocket(port, CHARGER_ID[version], [SUBPROTOCOL[version]])
    assert websocket.subprotocol == SUBPROTOCOL[version]
    peer = _peer_class(version)(CHARGER_ID[version], websocket)
    runner = asyncio.create_task(peer.start())
    try:
        boot = await peer.call(
            LIBRARY[version].call.BootNotification(charging_station=STATION, reason="PowerUp")
        )
        assert boot.status == "Accepted"
        yield peer
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await runner
        await websocket.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("v2-actions") / "data"
    appliance = Appliance(
        load_config(None, {"server": {"data_dir": data_dir, "host": "127.0.0.1", "port": 0}})
    )
    await appliance.start()
    try:
        api_port = await appliance.start_api("127.0.0.1", 0)
        token = ensure_tokens(data_dir)["operator"]
        async with ClientSession() as http, contextlib.AsyncExitStack() as stack:
            peers = {
                version: await stack.enter_async_context(_connected(appliance.ocpp_port, version))
                for version in VERSIONS
            }
            yield Site(appliance, http, f"http://127.0.0.1:{api_port}/api/v1", token, peers)
    finally:
        await appliance.stop()


async def logged(site: Site, version: str, action: str, message_id: str) -> list[Exchange]:
    await site.appliance.store.flush()
    with closing(site.appliance.read_connection()) as db:
        exchanges = MessageLog.query(db, charger_id=CHARGER_ID[version], action=action)
    return [exchange for exchange in exchanges if exchange.message_id == message_id]


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_library_charger_answers_every_csms_action(site: Site, version: str) -> None:
    assert set(site.peers[version].route_map) == set(csms_actions(version))


# --- charger-initiated -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "action"), [(version, action) for version in VERSIONS for action in charger_actions(version)]
)
async def test_charger_initiated_action_is_answered_and_logged(site: Site, version: str, action: str) -> None:
    peer = site.peers[version]
    message_id = str(uuid.uuid4())  # OCPP message ids are at most 36 characters
    if (FRAMES_OF[version] / "valid" / f"{action}.json").is_file():
        # A 2.1 SEND (NotifyPeriodicEventStream): no answer exists, and the library has no way to send one,
        # so it goes out raw over the library's own connection; the next CALL's answer is the first reply.
        await peer._send(json.dumps([6, message_id, action, fixture_payload(version, action)]))
        beat = await peer.call(
            LIBRARY[version].call.Heartbeat(), suppress=False, skip_schema_validation=False
        )
        assert beat.current_time
        assert peer._response_queue.empty()  # nothing came back for the SEND
        assert [
            (e.direction, e.message_type, e.reply_type)
            for e in await logged(site, version, action, message_id)
        ] == [("in", 6, None)]
        return
    request = library_object(LIBRARY[version].call, action, fixture_payload(version, f"{action}Request"))
    # `call` raises on a CALLERROR (suppress=False) and on an answer its schema refuses.
    answer = await peer.call(request, suppress=False, unique_id=message_id, skip_schema_validation=False)
    assert answer is not None
    (exchange,) = await logged(site, version, action, message_id)
    assert (exchange.direction, exchange.message_type, exchange.reply_type) == ("in", 2, 3)
    assert exchange.reply is not None
    assert json.loads(exchange.frame)[3] == as_sent(request)
    assert json.loads(exchange.reply)[2] == as_sent(answer)


# --- CSMS-initiated ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "action"), [(version, action) for version in VERSIONS for action in csms_actions(version)]
)
async def test_csms_initiated_action_reaches_the_charger_through_the_api(
    site: Site, version: str, action: str
) -> None:
    peer = site.peers[version]
    request = fixture_payload(version, f"{action}Request")
    expected = as_sent(
        library_object(LIBRARY[version].call_result, action, fixture_payload(version, f"{action}Response"))
    )
    async with site.http.post(
        f"{site.api}/chargers/{CHARGER_ID[version]}/commands/{action}",
        params={"timeout": "10"},
        json=request,
        headers={"Authorization": f"Bearer {site.token}"},
    ) as response:
        body = await response.json()
        assert response.status == 200, body
    assert body == {"action": action, "answer": expected}
    # The library's handler got the request as the API was given it (in the library's snake_case).
    assert peer.received[-1] == (action, camel_to_snake_case(request))
    await site.appliance.store.flush()
    with closing(site.appliance.read_connection()) as db:
        exchange = MessageLog.query(db, charger_id=CHARGER_ID[version], action=action, direction="out")[0]
    assert (exchange.message_type, exchange.reply_type) == (2, 3)
    assert exchange.reply is not None
    assert json.loads(exchange.frame)[3] == request
    assert json.loads(exchange.reply)[2] == expected
