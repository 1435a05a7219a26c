"""The cluster bus across processes: node processes that hold chargers and bid for a singleton, a node in
the test's process that routes calls into them, and one node process SIGKILLed: its charger leases and its
singleton lease move to the surviving nodes within about a lease time. The takeover times are measured and
printed (no timed assertion: the machine is noisy; the hang guards are generous).

Run as a module (`python -m tests.integration.test_cluster_process URL NODE LEASE_MS FIRST COUNT`), this
file is the node process itself: it claims chargers CP<FIRST>..CP<FIRST+COUNT-1>, bids for the singleton
"power", prints one `ready` line (JSON) and serves until it is killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from voltyard.cluster.node import Node

ROOT = Path(__file__).resolve().parents[2]
LEASE_MS = 1500


async def _serve(url: str, node_id: str, lease_ms: int, first: int, count: int) -> None:
    async def call_local(
        charger_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        return {"status": "Accepted", "answeredBy": node_id, "pid": os.getpid()}

    node = Node(url, node_id, call_local=call_local, close_local=lambda charger, by: None, lease_ms=lease_ms)
    lease = node.singleton("power")
    await node.start()
    for i in range(first, first + count):
        await node.presence.claim(f"CP{i}")
    print(orjson.dumps({"ready": node_id, "token": lease.token, "pid": os.getpid()}).decode(), flush=True)
    await asyncio.Event().wait()


class NodeProcess:
    """A node in its own process (this module run as __main__)."""

    def __init__(self, process: asyncio.subprocess.Process, ready: dict[str, Any]) -> None:
        self.process = process
        self.ready = ready

    @classmethod
    async def start(cls, url: str, node_id: str, first: int, count: int) -> NodeProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.test_cluster_process",
            url, node_id, str(LEASE_MS), str(first), str(count),
            cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        async with asyncio.timeout(30):  # a hang guard: start-up of a Python process on a busy machine
            line = await process.stdout.readline()
        if not line:
            await process.wait()
            pytest.fail(f"node process {node_id} exited with {process.returncode} before it was ready")
        return cls(process, orjson.loads(line))

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.feed_eof()
            await self.process.stdout.read()
        transport = getattr(self.process, "_transport", None)
        if transport is not None:
            transport.close()


async def _all_free(node: Node, chargers: list[str]) -> bool:
    holders = await node.bus.redis.mget([node.bus.keys.charger(c) for c in chargers])
    return all(holder is None for holder in holders)


@pytest.mark.timeout(120)  # two Python processes start on a shared 2-core machine
async def test_a_killed_node_process_hands_its_chargers_and_singleton_over(redis_url: str) -> None:
    p1 = await NodeProcess.start(redis_url, "p1", 0, 50)
    p2 = await NodeProcess.start(redis_url, "p2", 50, 50)
    processes = [p1, p2]

    async def call_local(
        charger_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        return {"status": "Accepted", "answeredBy": "b"}

    closed: list[str] = []
    b = Node(
        redis_url, "b", call_local=call_local, close_local=lambda c, by: closed.append(c), lease_ms=LEASE_MS
    )
    lease = b.singleton("power")
    try:
        await b.start()
        assert p1.ready["token"] == 1  # p1 started first: it owns the singleton
        assert lease.token is None
        assert sorted(info.node_id for info in await b.presence.nodes()) == ["b", "p1", "p2"]
        # Calls from this process reach the chargers in both node processes.
        for charger, holder in (("CP0", "p1"), ("CP49", "p1"), ("CP50", "p2"), ("CP99", "p2")):
            answer = await b.call(charger, "Reset", {"type": "Soft"}, 10)
            assert (answer["answeredBy"], answer["pid"]) == (holder, processes[holder == "p2"].ready["pid"])

        mine = [f"CP{i}" for i in range(50)]
        await p1.kill()
        killed = time.monotonic()
        async with asyncio.timeout(LEASE_MS / 1000 * 20):  # a hang guard, not the measure
            while not await _all_free(b, mine):
                await asyncio.sleep(0.02)
            chargers_free = time.monotonic() - killed
            while (await lease.owner() or ("p1", 0))[0] == "p1":
                await asyncio.sleep(0.02)
            singleton_moved = time.monotonic() - killed
        owner = await lease.owner()
        print(
            f"\nSIGKILLed node p1 (lease {LEASE_MS} ms): its 50 charger leases free after "
            f"{chargers_free:.2f} s, "
            f"singleton 'power' taken by {owner[0] if owner else None} (token {owner[1] if owner else None}) "
            f"after {singleton_moved:.2f} s"
        )
        assert owner is not None
        assert owner[0] in ("b", "p2")
        assert owner[1] == 2
        # The chargers reconnect to b: it claims them, nobody holds them any more, and calls reach b.
        for charger in mine:
            assert await b.presence.claim(charger) is None
        assert await b.call("CP0", "Reset", {"type": "Soft"}, 10) == {"status": "Accepted", "answeredBy": "b"}
        assert (await b.call("CP50", "Reset", {"type": "Soft"}, 10))["answeredBy"] == "p2"
        assert sorted(info.node_id for info in await b.presence.nodes()) == ["b", "p2"]
    finally:
        await b.stop()
        for process in processes:
            await process.kill()


if __name__ == "__main__":
    url_, node_, lease_, first_, count_ = sys.argv[1:6]
    asyncio.run(_serve(url_, node_, int(lease_), int(first_), int(count_)))
