"""Hostile input to the control API is a clear 4xx, never a 500 or a traceback (issue 17, finding 8).

A bearer token that is not ASCII (or not even UTF-8), a JSON body nested 100 000 deep and a malformed
stream filter each got a 500 or an unhandled traceback. Over a real appliance and the API on a real socket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgpack
import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from voltyard.api.app import create_app
from voltyard.api.tokens import ensure_tokens
from voltyard.runtime import Appliance


@pytest.fixture
async def api(appliance: Appliance, aiohttp_client: Any) -> Any:
    tokens = ensure_tokens(appliance.config.server.data_dir)
    client = await aiohttp_client(create_app(appliance.api_services(), tokens))
    client.operator = {"Authorization": f"Bearer {tokens['operator']}"}
    client.reader = {"Authorization": f"Bearer {tokens['readonly']}"}
    return client


async def raw_get(port: int, path: str, headers: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request with header bytes as given (a client library would refuse or re-encode them)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n"
        )
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer tökén".encode(),  # UTF-8, not ASCII
        b"Bearer \xff\xfe\x80",  # not even UTF-8
        b"Bearer \xc3",  # a UTF-8 sequence cut short
    ],
)
async def test_a_non_ascii_bearer_token_is_401(api: Any, authorization: bytes, caplog: Any) -> None:
    with caplog.at_level(logging.ERROR):
        status, body = await raw_get(
            api.server.port, "/api/v1/health", b"Authorization: " + authorization + b"\r\n"
        )
    assert status == 401, body
    assert b'"unauthorized"' in body
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_json_body_nested_100k_deep_is_400_naming_the_depth(api: Any) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = await api.put(
        "/api/v1/site", data=deep, headers={**api.operator, "Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "bad_request"
    assert "nested" in error["message"], error
    # The appliance still takes a sound body afterwards.
    response = await api.put("/api/v1/site", json={"limit_kw": 50, "operator": "a"}, headers=api.operator)
    assert response.status == 200, await response.text()


async def test_an_unknown_stream_category_is_refused_before_the_upgrade(api: Any) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await api.ws_connect("/api/v1/stream?categories=alert,nonsense", headers=api.reader)
    assert refused.value.status == 422
    response = await api.get("/api/v1/stream?categories=alert,nonsense", headers=api.reader)
    assert response.status == 422, await response.text()
    assert "nonsense" in (await response.json())["error"]["message"]


@pytest.mark.parametrize(
    ("update", "named"),
    [
        (msgpack.packb({"kinds": 5}), "kinds"),
        (msgpack.packb({"chargers": [1, None]}), "chargers"),
        (msgpack.packb({"categories": ["nonsense"]}), "nonsense"),
        (msgpack.packb({"kinds": ["MessageIn"], "extra": []}), "extra"),
        (msgpack.packb(["kinds"]), "map"),
        (b"\xc1", "msgpack"),  # a byte msgpack never uses
        (msgpack.packb({"kinds": "MessageIn"}), "kinds"),
    ],
)
async def test_a_malformed_stream_filter_closes_the_stream_naming_the_problem(
    api: Any, update: bytes, named: str, caplog: Any
) -> None:
    ws = await api.ws_connect("/api/v1/stream", headers=api.reader)
    with caplog.at_level(logging.ERROR):
        await ws.send_bytes(update)
        message = await asyncio.wait_for(ws.receive(), 30)
    assert message.type is WSMsgType.CLOSE, message
    assert ws.close_code == 1008
    assert named in message.extra, message.extra
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    await ws.close()
    # The stream still serves a client with a sound filter.
    ws = await api.ws_connect("/api/v1/stream", headers=api.reader)
    await ws.send_bytes(msgpack.packb({"kinds": ["SiteLimitChanged"], "categories": ["operator"]}))
    response = await api.put("/api/v1/site", json={"limit_kw": 40, "operator": "a"}, headers=api.operator)
    assert response.status == 200, await response.text()
    event = msgpack.unpackb((await asyncio.wait_for(ws.receive(), 30)).data)
    assert event["kind"] == "SiteLimitChanged"
    await ws.close()
