"""Password hashing never runs on the event loop (issue 17, finding 5).

The probe found each Basic-auth check ran scrypt (~40 ms) on the loop: 200 wrong passwords stalled every
charger for 7.9 s, and 200 right ones after a restart for 8.8 s. Over real sockets against a real appliance
(in this process, so the test sees on which thread scrypt runs: `hashlib.scrypt` is wrapped to note the
thread and then does its real work).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
from typing import Any

import pytest
import websockets
from voltyard.runtime import Appliance

KEY = b"0123456789abcdef0123456789abcdef"
WRONG = b"f" * 32


@pytest.fixture
def scrypt_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread id of every scrypt call from now on."""
    threads: list[int] = []
    real = hashlib.scrypt

    def noting(*args: Any, **kwargs: Any) -> bytes:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", noting)
    return threads


def basic(user: str, password: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user.encode() + b":" + password).decode()}


async def status_of(appliance: Appliance, charger_id: str, password: bytes) -> int:
    try:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp/{charger_id}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic(charger_id, password),
            open_timeout=30,
        )
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    await ws.close()
    return 101


async def test_wrong_passwords_and_unknown_ids_are_hashed_off_the_loop(
    appliance_config: Any, scrypt_threads: list[int]
) -> None:
    running = Appliance(appliance_config(security={"default_profile": 1, "auth_failure_limit": 100}))
    await running.start()
    try:
        await running.services.credentials.set("CP1", profile=1, password=KEY)
        scrypt_threads.clear()
        statuses = await asyncio.gather(
            *(status_of(running, "CP1", WRONG) for _ in range(10)),
            *(status_of(running, f"NOBODY{n}", WRONG) for n in range(10)),
        )
        assert statuses == [401] * 20
    finally:
        await running.stop()
    assert len(scrypt_threads) >= 20, "a refusal did not run scrypt (constant-time refusal)"
    assert threading.get_ident() not in scrypt_threads, "scrypt ran on the event loop's thread"


async def test_a_restart_costs_no_scrypt_for_a_right_password(
    appliance_config: Any, scrypt_threads: list[int]
) -> None:
    config = appliance_config()
    first = Appliance(config)
    await first.start()
    try:
        await first.services.credentials.set("CP1", profile=1, password=KEY)
    finally:
        await first.stop()
    scrypt_threads.clear()
    restarted = Appliance(config)
    await restarted.start()
    try:
        assert await status_of(restarted, "CP1", KEY) == 101
        assert await status_of(restarted, "CP1", bytes.fromhex(KEY.decode())) == 101  # the raw form too
    finally:
        await restarted.stop()
    assert scrypt_threads == [], "a right password cost scrypt after a restart"
