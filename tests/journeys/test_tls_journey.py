"""Security profiles 2 and 3 on a real `voltyard serve` (uvloop, the deferred handshake that hashes passwords
off the loop and then hands the TLS transport to picows): a site's TLS listener from a config file, a charger
moved to profile 2 through the API and then connecting over wss with its password, one on profile 3 with its
client certificate, and the refusals an installer meets."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
from pathlib import Path

import websockets

from tests.certs import Authority
from tests.journeys.appliance import RunningAppliance

KEY = "0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def basic(charger_id: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{charger_id}:{password}".encode()).decode()}


async def session_status(
    url: str, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None
) -> int:
    """101 when the charger got in and its Heartbeat was answered; else the status that refused it."""
    try:
        ws = await websockets.connect(
            url,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers or {},
            ssl=tls,
            open_timeout=30,
        )
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    try:
        await ws.send(json.dumps([2, "1", "Heartbeat", {}]))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert answer[0] == 3, answer
    finally:
        await ws.close()
    return 101


def test_profiles_2_and_3_over_tls_on_a_real_serve(tmp_path: Path) -> None:
    ca = Authority(tmp_path / "pki", "Site CA")
    server = ca.issue("localhost", server=True)
    cp3 = ca.issue("CP3")
    tls_port = free_port()
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(
        config=(
            f'[security]\ncert_file = "{server.cert}"\nkey_file = "{server.key}"\n'
            f'client_ca_file = "{ca.path}"\ntls_port = {tls_port}\n'
        )
    )
    wss = f"wss://localhost:{tls_port}/ocpp"
    trust = ssl.create_default_context(cafile=ca.path)
    with_certificate = ssl.create_default_context(cafile=ca.path)
    with_certificate.load_cert_chain(cp3.cert, cp3.key)
    try:

        async def first_boots() -> list[int]:
            return [await session_status(f"{appliance.ocpp_url}/{cp}") for cp in ("CP2", "CP3")]

        assert asyncio.run(first_boots()) == [101, 101]
        assert appliance.api("PUT", "/chargers/CP2/security", {"profile": 2, "password": KEY}).status == 200
        assert appliance.api("PUT", "/chargers/CP3/security", {"profile": 3}).status == 200

        async def secured() -> list[int]:
            return [
                await session_status(f"{wss}/CP2", basic("CP2", KEY), trust),
                await session_status(f"{wss}/CP2", basic("CP2", "f" * 32), trust),
                await session_status(f"{appliance.ocpp_url}/CP2", basic("CP2", KEY)),  # no TLS: 403
                await session_status(f"{wss}/CP3", tls=with_certificate),
                await session_status(f"{wss}/CP3", tls=trust),  # profile 3 needs its certificate: 403
            ]

        assert asyncio.run(secured()) == [101, 401, 403, 101, 403]
    finally:
        assert appliance.stop() == 0
