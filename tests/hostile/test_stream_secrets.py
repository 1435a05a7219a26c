"""A read-only stream client never sees a secret in clear (issue 17, finding 4).

An operator rotating a charger's AuthorizationKey (ChangeConfiguration) sent the new key in clear in the
live stream's MessageOut event, which any read-only token may watch, while the message log masked it.
The frame is now masked where it leaves for anyone but the charger, once, for both. Over a real appliance,
a real websocket charger, and the API and its stream on a real socket.
"""

from __future__ import annotations

import asyncio
from contextlib import closing
from typing import Any

import msgpack
import pytest
from voltyard.api.app import create_app
from voltyard.api.tokens import ensure_tokens
from voltyard.runtime import Appliance
from voltyard.store.message_log import MessageLog

from tests.e2e.peer import connected_peer

NEW_KEY = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
async def api(appliance: Appliance, aiohttp_client: Any) -> Any:
    tokens = ensure_tokens(appliance.config.server.data_dir)
    client = await aiohttp_client(create_app(appliance.api_services(), tokens))
    client.operator = {"Authorization": f"Bearer {tokens['operator']}"}
    client.reader = {"Authorization": f"Bearer {tokens['readonly']}"}
    return client


async def test_a_new_authorization_key_is_masked_on_the_stream(appliance: Appliance, api: Any) -> None:
    ws = await api.ws_connect("/api/v1/stream?kinds=MessageOut,MessageIn&chargers=CP-KEY", headers=api.reader)
    async with connected_peer(appliance.ocpp_port, "CP-KEY"):
        # The boot's frames come first on the stream; the loop below reads past them to the command's.
        response = await api.post(
            "/api/v1/chargers/CP-KEY/commands/ChangeConfiguration",
            json={"key": "AuthorizationKey", "value": NEW_KEY},
            headers=api.operator,
        )
        assert response.status == 200, await response.text()
        answer = await response.json()
        assert answer["answer"] == {"status": "Accepted"}, answer
        sent = None
        while sent is None:
            event = msgpack.unpackb((await asyncio.wait_for(ws.receive(), 30)).data)
            assert NEW_KEY not in str(event), event
            if event["kind"] == "MessageOut" and event["data"]["action"] == "ChangeConfiguration":
                sent = event
    await ws.close()
    assert '"value":"***"' in sent["data"]["frame"], sent
    # The message log masks it the same way (one masking, not two).
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        (logged,) = MessageLog.query(db, charger_id="CP-KEY", action="ChangeConfiguration")
    assert logged.frame.decode() == sent["data"]["frame"]
