"""A charge point's uplink connection reports changes of its state, not each attempt: during an outage with
a short backoff, the retries that fail the same way are one `offline`, not an event per attempt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from voltyard.ocpp.codec import load_codec
from voltyard.uplink.connection import UpstreamLink
from voltyard.ws_client import ConnectOptions


class Owner:
    def __init__(self) -> None:
        self.states: list[tuple[str, str | None]] = []

    def boot_request(self, charger_id: str) -> dict[str, Any]:
        return {"chargePointVendor": "V", "chargePointModel": "M"}

    async def booted(self, link: UpstreamLink) -> None:
        raise AssertionError("never booted: the central system refuses every handshake")

    async def drain(self, link: UpstreamLink) -> None:
        raise AssertionError("never online")

    async def command(self, charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("no command")

    def state_changed(self, charger_id: str, state: str, detail: str | None) -> None:
        self.states.append((state, detail))


class Refusing:
    """A central system's port that answers every websocket handshake with 503 and counts the attempts."""

    def __init__(self) -> None:
        self.attempts = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.attempts += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()


@pytest.fixture
async def refusing() -> AsyncIterator[Refusing]:
    central = Refusing()
    server = await asyncio.start_server(central.handle, "127.0.0.1", 0)
    central.port = server.sockets[0].getsockname()[1]
    async with server:
        yield central


async def test_retries_that_fail_alike_are_one_offline_state(refusing: Refusing) -> None:
    owner = Owner()
    options = ConnectOptions(url=f"ws://127.0.0.1:{refusing.port}/ocpp", handshake_timeout=5.0)
    link = UpstreamLink("CP1", owner, load_codec(), options, None, backoff=(0.01, 0.02), call_timeout=5.0)
    link.start()
    try:
        async with asyncio.timeout(30):  # a hang guard: the attempts are the signal
            while refusing.attempts < 6:
                await asyncio.sleep(0.01)
    finally:
        await link.stop()
    # It starts out connecting; every later attempt failed alike.
    assert [state for state, _ in owner.states] == ["offline"], owner.states
    assert link.state == "offline"
