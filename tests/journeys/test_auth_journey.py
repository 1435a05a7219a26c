"""Issue 17's authentication findings as an operator and a site's chargers meet them on a real `voltyard
serve`: Basic auth set through the API, a charger id with `:` refused for it, one charger's wrong passwords
not locking out its neighbours behind the same address, the right password after a restart, and a handshake
of an old websocket version."""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path

import websockets

from tests.journeys.appliance import RunningAppliance

KEY = "0123456789abcdef0123456789abcdef"
CONFIG = "[security]\nauth_failure_limit = 3\nauth_failure_window = 600\n"


async def status_of(appliance: RunningAppliance, charger_id: str, password: str | None = None) -> int:
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{charger_id}:{password}".encode()).decode()
    try:
        ws = await websockets.connect(
            f"{appliance.ocpp_url}/{charger_id}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers,
            open_timeout=30,
        )
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    await ws.close()
    return 101


def old_version_answer(appliance: RunningAppliance) -> bytes:
    with socket.create_connection(("127.0.0.1", appliance.ocpp_port), timeout=30) as sock:
        sock.sendall(
            b"GET /ocpp/OLD HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
            b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return head


def test_basic_auth_on_a_site_behind_one_address(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=CONFIG)
    try:
        for charger_id in ("SITE-A", "SITE:7"):
            assert asyncio.run(status_of(appliance, charger_id)) == 101
        security = {"profile": 1, "password": KEY}
        assert appliance.api("PUT", "/chargers/SITE-A/security", security).status == 200
        refused = appliance.api("PUT", "/chargers/SITE:7/security", {"profile": 1, "password": KEY})
        assert refused.status == 422, refused
        assert "contains ':'" in refused.json["error"]["message"]

        async def site() -> list[int]:
            wrong = [await status_of(appliance, "SITE-A", "f" * 32) for _ in range(3)]
            return [*wrong, await status_of(appliance, "SITE-A", KEY), await status_of(appliance, "SITE-B")]

        # SITE-A's own wrong passwords lock SITE-A out; SITE-B behind the same address still connects.
        assert asyncio.run(site()) == [401, 401, 401, 429, 101]
        assert b"426" in old_version_answer(appliance).split(b"\r\n", 1)[0]
    finally:
        assert appliance.stop() == 0
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=CONFIG)
    try:
        assert asyncio.run(status_of(appliance, "SITE-A", KEY)) == 101  # the password survived the restart
    finally:
        assert appliance.stop() == 0
