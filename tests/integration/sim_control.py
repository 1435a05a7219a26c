"""Shared by the tests of a running simulator's control socket: one command over the real unix socket (as
`voltyard emulate` and `voltyard sim station` send it), and a wait bounded by a hang guard."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from voltyard.sim.simulation import Simulation

HANG_GUARD_S = 30.0


async def control(simulation: Simulation, command: dict[str, Any]) -> dict[str, Any]:
    path = simulation.config.control_socket
    assert path is not None
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(orjson.dumps(command) + b"\n")
        await writer.drain()
        reply = orjson.loads(await asyncio.wait_for(reader.readline(), HANG_GUARD_S))
    finally:
        writer.close()
        await writer.wait_closed()
    assert isinstance(reply, dict)
    return reply


async def until(check: Callable[[], Any]) -> None:
    """Wait until `check()` holds (a hang guard bounds it; nothing is timed)."""
    async with asyncio.timeout(HANG_GUARD_S):
        while not check():
            await asyncio.sleep(0.02)
