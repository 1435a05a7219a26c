"""Security profiles 1-3 over real sockets and real TLS, with certificates made in the test.

Every refusal must happen at the handshake (an HTTP error status, no upgrade), so no OCPP frame of a
refused connection is ever read.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from contextlib import closing

import pytest
import websockets
from ocpp.v16 import call, call_result
from voltyard.errors import InvalidCommandError
from voltyard.runtime import Appliance
from voltyard.store.message_log import MessageLog

from tests.certs import Authority
from tests.e2e.peer import PeerChargePoint

KEY = b"0123456789abcdef0123456789abcdef"  # 32 hex characters = 16 bytes, the whitepaper's minimum
NEW_KEY = b"fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def pki(tmp_path):
    ca = Authority(tmp_path, "Site CA")
    rogue = Authority(tmp_path, "Rogue CA")
    return {
        "ca": ca,
        "server": ca.issue("localhost", server=True),
        "cp3": ca.issue("CP3"),
        "other": ca.issue("CP-OTHER"),
        "expired": ca.issue("CP3", expired=True),
        "rogue": rogue.issue("CP3"),
    }


@pytest.fixture
async def secured(appliance_config, pki):
    config = appliance_config(
        security={
            "cert_file": pki["server"].cert,
            "key_file": pki["server"].key,
            "client_ca_file": pki["ca"].path,
            "tls_port": 0,
            "auth_failure_limit": 20,
        }
    )
    running = Appliance(config)
    await running.start()
    credentials = running.services.credentials
    await credentials.set("CP1", profile=1, password=KEY)
    await credentials.set("CP2", profile=2, password=KEY)
    await credentials.set("CP3", profile=3, password=None)
    yield running
    await running.stop()


def basic(user: str, password: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user.encode() + b":" + password).decode()}


def client_tls(pki, cert: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki["ca"].path)
    if cert is not None:
        context.load_cert_chain(pki[cert].cert, pki[cert].key)
    return context


async def open_ws(appliance, charger_id: str, headers=None, tls: ssl.SSLContext | None = None):
    scheme, port = ("wss", appliance.tls_port) if tls else ("ws", appliance.ocpp_port)
    host = "localhost" if tls else "127.0.0.1"
    return await websockets.connect(
        f"{scheme}://{host}:{port}/ocpp/{charger_id}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=headers or {},
        ssl=tls,
        open_timeout=5,
    )


async def refused_with(status: int, *args, **kwargs) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_ws(*args, **kwargs)
    assert refused.value.response.status_code == status


async def assert_session(ws) -> None:
    await ws.send(json.dumps([2, "1", "Heartbeat", {}]))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))[0] == 3
    await ws.close()


async def test_profile_1_basic_auth(secured) -> None:
    await assert_session(await open_ws(secured, "CP1", basic("CP1", KEY)))
    # The raw form of the hex key is accepted too (the whitepaper allows both).
    await assert_session(await open_ws(secured, "CP1", basic("CP1", bytes.fromhex(KEY.decode()))))
    await refused_with(401, secured, "CP1", basic("CP1", b"0" * 32))  # wrong password
    await refused_with(401, secured, "CP1", basic("CP2", KEY))  # someone else's id
    await refused_with(401, secured, "CP1")  # no header
    await refused_with(401, secured, "CP1", {"Authorization": "Basic !!!"})  # not base64
    # Only the right password is known by its keyed hash (a refused one is never remembered).
    assert secured.services.credentials.known("CP1", KEY)
    assert not secured.services.credentials.known("CP1", b"0" * 32)


async def test_profile_2_needs_tls(secured, pki) -> None:
    await refused_with(403, secured, "CP2", basic("CP2", KEY))  # right password, plain ws: lower profile
    await assert_session(await open_ws(secured, "CP2", basic("CP2", KEY), client_tls(pki)))
    await refused_with(401, secured, "CP2", basic("CP2", b"1" * 32), tls=client_tls(pki))


async def test_profile_3_client_certificate(secured, pki) -> None:
    await assert_session(await open_ws(secured, "CP3", tls=client_tls(pki, "cp3")))
    await refused_with(403, secured, "CP3", tls=client_tls(pki, "other"))  # CN of another charger
    await refused_with(403, secured, "CP3", basic("CP3", KEY), tls=client_tls(pki))  # no certificate
    await refused_with(403, secured, "CP3")  # plain ws
    for untrusted in ("rogue", "expired"):
        with pytest.raises((ssl.SSLError, ConnectionError, websockets.InvalidMessage)):
            await open_ws(secured, "CP3", tls=client_tls(pki, untrusted))


async def test_refusals_are_security_events_and_addresses_get_locked_out(appliance_config) -> None:
    running = Appliance(appliance_config(security={"auth_failure_limit": 3, "auth_failure_window": 60}))
    await running.start()
    try:
        await running.services.credentials.set("CPX", profile=1, password=KEY)
        seen = []
        running.services.events.subscribe(seen.append)
        for _ in range(3):
            await refused_with(401, running, "CPX", basic("CPX", b"9" * 32))
        await refused_with(429, running, "CPX", basic("CPX", KEY))  # even the right password, for now
        failures = [
            e for e in seen if e.kind == "SecurityEvent" and e.data()["type"] == "AuthenticationFailed"
        ]
        assert len(failures) == 3
        assert all(
            KEY.decode() not in json.dumps(e.data()) and "9999" not in json.dumps(e.data()) for e in failures
        )
    finally:
        await running.stop()


@pytest.mark.parametrize("answer", ["Accepted", "Rejected"])
async def test_authorization_key_rotation(secured, answer: str) -> None:
    ws = await open_ws(secured, "CP1", basic("CP1", KEY))
    peer = PeerChargePoint("CP1", ws)
    runner = asyncio.create_task(peer.start())
    peer.answers["ChangeConfiguration"] = call_result.ChangeConfiguration(answer)
    try:
        await peer.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        request = {"key": "AuthorizationKey", "value": NEW_KEY.decode()}
        got = await secured.commands.call("CP1", "ChangeConfiguration", request, timeout=5)
        assert got == {"status": answer}
    finally:
        runner.cancel()
        await ws.close()
    good, bad = (NEW_KEY, KEY) if answer == "Accepted" else (KEY, NEW_KEY)
    await assert_session(await open_ws(secured, "CP1", basic("CP1", good)))
    await refused_with(401, secured, "CP1", basic("CP1", bad))
    await secured.store.flush()
    with closing(secured.read_connection()) as db:
        (logged,) = MessageLog.query(db, charger_id="CP1", action="ChangeConfiguration")
        stored = db.execute("SELECT password_hash FROM chargers WHERE id = 'CP1'").fetchone()[0]
    assert NEW_KEY not in logged.frame
    assert b'"value":"***"' in logged.frame
    assert stored.startswith("scrypt$")
    assert NEW_KEY.decode() not in stored


async def test_too_short_key_is_refused_before_sending(secured) -> None:
    ws = await open_ws(secured, "CP1", basic("CP1", KEY))
    peer = PeerChargePoint("CP1", ws)
    runner = asyncio.create_task(peer.start())
    try:
        with pytest.raises(InvalidCommandError, match="16-40 bytes"):
            await secured.commands.call(
                "CP1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "abcd"}
            )
    finally:
        runner.cancel()
        await ws.close()
    assert peer.received == []
