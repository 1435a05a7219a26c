"""The cluster bus on Redis with two or three `Node`s in one process, against a real redis-server
(tests/redis_server.py): presence, command routing and its typed errors, the replacement of a charger's
socket across nodes, the fleet's events in one order, singleton leases with fencing, and recovery when
Redis is killed and started again.

Leases are short here (600 ms) so that expiries happen within a test; waits on Redis state poll it through
`eventually` (there is nothing to await for a key's expiry), with generous hang guards, never timed
assertions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from voltyard.cluster.bus import Bus
from voltyard.cluster.fanout import FleetEvent
from voltyard.cluster.leases import Fence
from voltyard.cluster.node import Node
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    ClusterError,
    ClusterUnavailableError,
    CommandTimeoutError,
    NodeLostError,
    StaleLeaseError,
)
from voltyard.events.kinds import ChargerConnected

from tests.redis_server import RedisServer, RedisServerMissingError, free_port

LEASE_MS = 600


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> float:
    """Seconds until `check()` holds (polled every 20 ms); fails naming `what` after `timeout` (a hang
    guard, not a timing assertion)."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


class Charger:
    """What a node does with the chargers connected to it, recorded: answers calls and closes sockets."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.closed: list[tuple[str, str | None]] = []
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.answer: Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]] | None = None

    async def call(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        self.calls.append((charger_id, action, payload))
        if self.answer is not None:
            return await self.answer(charger_id, action, payload)
        return {"status": "Accepted", "answeredBy": self.node_id}

    def close(self, charger_id: str, by: str | None) -> None:
        self.closed.append((charger_id, by))


@pytest.fixture
async def cluster(redis_url: str):
    """Start nodes on demand (`await cluster("a")`); every node is stopped at the end."""
    nodes: list[Node] = []

    async def start(node_id: str, *, singletons: tuple[str, ...] = ()) -> tuple[Node, Charger]:
        local = Charger(node_id)
        node = Node(redis_url, node_id, call_local=local.call, close_local=local.close, lease_ms=LEASE_MS)
        for name in singletons:
            node.singleton(name)
        await node.start()
        nodes.append(node)
        return node, local

    yield start
    for node in nodes:
        await node.stop()


async def test_unreachable_redis_is_one_clear_error_naming_the_url_without_its_password() -> None:
    url = f"redis://operator:s3cret@127.0.0.1:{free_port()}/0"
    bus = Bus(url, "a")
    with pytest.raises(ClusterError) as caught:
        await bus.start()
    message = str(caught.value)
    assert f"redis://operator:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "s3cret" not in message
    assert "unreachable" in message


async def test_a_redis_that_refuses_the_node_is_a_clear_error(redis_url: str) -> None:
    host = redis_url.removeprefix("redis://")
    bus = Bus(f"redis://:wrong-secret@{host}", "a")
    with pytest.raises(ClusterError) as caught:
        await bus.start()
    message = str(caught.value)
    assert message.startswith(f"cluster: Redis at redis://:***@{host} refused this node: ")
    assert "wrong-secret" not in message


def test_a_url_that_is_not_redis_is_a_cluster_error() -> None:
    with pytest.raises(ClusterError, match=r"http://x:\*\*\*@h/ is not a Redis URL"):
        Bus("http://x:pw@h/", "a")


async def test_presence_claim_holder_and_the_registry(cluster) -> None:
    a, _ = await cluster("a")
    b, _ = await cluster("b")
    assert await a.presence.holder("CP1") is None
    assert await a.presence.claim("CP1") is None
    assert await b.presence.holder("CP1") == "a"
    assert await a.presence.claim("CP1") is None  # a node claiming its own charger again: no previous holder
    assert [info.node_id for info in await b.presence.nodes()] == ["a", "b"]
    await a.presence.release("CP1")
    assert await b.presence.holder("CP1") is None


async def test_a_new_connection_on_another_node_closes_the_old_socket(cluster) -> None:
    a, a_local = await cluster("a")
    b, b_local = await cluster("b")
    await a.presence.claim("CP1")
    assert await b.presence.claim("CP1") == "a"
    await eventually(lambda: _true(a_local.closed), "node a told to close CP1")
    assert a_local.closed == [("CP1", "b")]
    assert "CP1" not in a.presence.held
    # a's heartbeat no longer renews CP1: b keeps it.
    await a.presence.heartbeat()
    assert await a.presence.holder("CP1") == "b"
    assert b_local.closed == []


async def test_a_dead_nodes_chargers_and_registry_entry_expire_within_the_lease(cluster) -> None:
    a, _ = await cluster("a")
    b, _ = await cluster("b")
    for charger in ("CP1", "CP2", "CP3"):
        await a.presence.claim(charger)
    # Renewed past several lease times while a lives.
    for _ in range(3):
        await a.presence.heartbeat()
    assert {await b.presence.holder(c) for c in ("CP1", "CP2", "CP3")} == {"a"}
    await a.stop(release=False)  # dies: nothing handed back
    took = await eventually(
        lambda: _none_of(b, ("CP1", "CP2", "CP3")), "a's charger leases expired", timeout=LEASE_MS / 1000 * 10
    )
    print(f"charger leases of a dead node expired after {took:.2f} s (lease {LEASE_MS} ms)")
    assert [info.node_id for info in await b.presence.nodes()] == ["b"]


async def test_heartbeat_renews_and_finds_chargers_taken_elsewhere(cluster) -> None:
    a, a_local = await cluster("a")
    b, _ = await cluster("b")
    await a.presence.claim("CP1")
    await a.presence.claim("CP2")
    # b takes CP2 while a missed the "close" (as if its subscription blinked): a's next heartbeat sees it.
    await b.bus.redis.set(b.bus.keys.charger("CP2"), "b", px=LEASE_MS)
    assert await a.presence.heartbeat() == ["CP2"]
    assert a_local.closed == [("CP2", "b")]
    assert a.presence.held == {"CP1"}


async def test_a_call_from_any_node_reaches_the_holder(cluster) -> None:
    a, a_local = await cluster("a")
    b, _ = await cluster("b")
    c, _ = await cluster("c")
    await a.presence.claim("CP1")
    await c.presence.claim("CP3")
    assert await b.call("CP1", "Reset", {"type": "Soft"}, 5) == {"status": "Accepted", "answeredBy": "a"}
    assert await b.call("CP3", "Reset", {"type": "Hard"}, 5) == {"status": "Accepted", "answeredBy": "c"}
    assert await a.call("CP1", "Reset", {"type": "Hard"}, 5) == {"status": "Accepted", "answeredBy": "a"}
    assert a_local.calls == [("CP1", "Reset", {"type": "Soft"}), ("CP1", "Reset", {"type": "Hard"})]


async def test_a_charger_no_node_holds_is_offline(cluster) -> None:
    a, _ = await cluster("a")
    with pytest.raises(ChargerOfflineError, match="CP9 is not connected to any node"):
        await a.call("CP9", "Reset", {"type": "Soft"}, 5)


async def test_the_holders_typed_errors_come_back_as_they_were_raised(cluster) -> None:
    a, a_local = await cluster("a")
    b, _ = await cluster("b")
    await a.presence.claim("CP1")

    async def refuse(charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["type"] == "Soft":
            raise CallErrorReceivedError("NotSupported", "no soft reset", {"why": 1})
        raise ChargerOfflineError(f"{charger_id} went away before answering {action}")

    a_local.answer = refuse
    with pytest.raises(CallErrorReceivedError) as caught:
        await b.call("CP1", "Reset", {"type": "Soft"}, 5)
    assert (caught.value.code, caught.value.description, caught.value.details) == (
        "NotSupported", "no soft reset", {"why": 1},
    )  # fmt: skip
    with pytest.raises(ChargerOfflineError, match="CP1 went away before answering Reset"):
        await b.call("CP1", "Reset", {"type": "Hard"}, 5)


async def test_no_answer_in_time_is_a_timeout(cluster) -> None:
    a, a_local = await cluster("a")
    b, _ = await cluster("b")
    await a.presence.claim("CP1")
    never = asyncio.Event()

    async def silent(charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        await never.wait()
        return {}

    a_local.answer = silent
    with pytest.raises(CommandTimeoutError, match=r"CP1: no answer to Reset within 0\.5 s"):
        await b.call("CP1", "Reset", {"type": "Soft"}, 0.5)


async def test_a_holder_that_dies_while_the_call_waits_is_node_lost(cluster) -> None:
    a, a_local = await cluster("a")
    b, _ = await cluster("b")
    await a.presence.claim("CP1")
    started = asyncio.Event()

    async def stuck(charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        started.set()
        await asyncio.Event().wait()
        return {}

    a_local.answer = stuck
    call = asyncio.ensure_future(b.call("CP1", "Reset", {"type": "Soft"}, 30))
    await started.wait()
    await a.stop(release=False)  # a dies while its charger's call is outstanding
    with pytest.raises(NodeLostError, match="CP1: node a was lost before answering Reset"):
        await call


async def test_a_holder_that_does_not_listen_is_node_lost_at_once(cluster) -> None:
    b, _ = await cluster("b")
    await b.bus.redis.set(b.bus.keys.charger("CP1"), "ghost", px=60_000)
    with pytest.raises(NodeLostError, match="CP1: its node ghost is not listening"):
        await b.call("CP1", "Reset", {"type": "Soft"}, 5)


async def test_one_outstanding_call_per_charger_cluster_wide(cluster) -> None:
    a, a_local = await cluster("a")
    b, _ = await cluster("b")
    c, _ = await cluster("c")
    await a.presence.claim("CP1")
    running = 0
    most = 0

    async def slow(charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.03)  # holds the call so that the others must wait their turn
        running -= 1
        return {"status": "Accepted", "n": payload["n"]}

    a_local.answer = slow
    calls = [node.call("CP1", "DataTransfer", {"n": i}, 20) for i, node in enumerate([a, b, c, b, c, a])]
    answers = await asyncio.gather(*calls)
    assert sorted(answer["n"] for answer in answers) == [0, 1, 2, 3, 4, 5]
    assert most == 1
    # The lock is handed back after each call.
    assert await a.bus.redis.get(a.bus.keys.call_lock("CP1")) is None


async def test_a_call_that_gets_no_turn_times_out(cluster) -> None:
    a, _ = await cluster("a")
    b, _ = await cluster("b")
    await a.presence.claim("CP1")
    await a.bus.redis.set(a.bus.keys.call_lock("CP1"), "someone", px=60_000)
    with pytest.raises(CommandTimeoutError, match=r"CP1: Reset got no turn within 0\.3 s"):
        await b.call("CP1", "Reset", {"type": "Soft"}, 0.3)


async def test_events_reach_every_node_in_one_order(cluster) -> None:
    nodes = [(await cluster(name))[0] for name in ("a", "b", "c")]
    seen: dict[str, list[FleetEvent]] = {node.node_id: [] for node in nodes}
    done = {node.node_id: asyncio.Event() for node in nodes}
    total = 30

    for node in nodes:

        def collect(event: FleetEvent, node_id: str = node.node_id) -> None:
            seen[node_id].append(event)
            if len(seen[node_id]) == total:
                done[node_id].set()

        node.fanout.subscribe(collect)

    async def publish(node: Node) -> list[int]:
        return [
            await node.fanout.publish(ChargerConnected(f"CP{i}", node.node_id, 0).row()) for i in range(10)
        ]

    given = await asyncio.gather(*(publish(node) for node in nodes))
    async with asyncio.timeout(15):
        for event in done.values():
            await event.wait()
    assert sorted(seq for seqs in given for seq in seqs) == list(range(1, total + 1))
    orders = {node_id: [(e.seq, e.node_id, e.row) for e in events] for node_id, events in seen.items()}
    assert orders["a"] == orders["b"] == orders["c"]
    assert [seq for seq, _, _ in orders["a"]] == list(range(1, total + 1))
    first = seen["a"][0]
    assert first.row[1] == "ChargerConnected"
    assert first.data() == {"source": first.node_id, "profile": 0}
    assert all(node.fanout.gaps == 0 for node in nodes)


async def test_a_singleton_runs_on_one_node_and_moves_when_it_dies(cluster) -> None:
    a, _ = await cluster("a", singletons=("power",))
    b, _ = await cluster("b", singletons=("power",))
    owners = [node for node in (a, b) if node.leases["power"].token is not None]
    assert [node.node_id for node in owners] == ["a"]
    assert a.leases["power"].token == 1
    assert await b.leases["power"].owner() == ("a", 1)
    await a.stop(release=False)  # dies holding the lease
    died = time.monotonic()
    async with asyncio.timeout(LEASE_MS / 1000 * 10):
        await b.leases["power"].owned.wait()
    print(f"singleton takeover after {time.monotonic() - died:.2f} s (lease {LEASE_MS} ms)")
    assert b.leases["power"].token == 2
    # The actuator keeps the newest token: the dead owner's late write is refused.
    fence = Fence("power")
    fence.admit(2)
    with pytest.raises(StaleLeaseError, match="power: a write with lease token 1 refused"):
        fence.admit(1)
    fence.admit(2)


async def test_a_graceful_stop_hands_the_singleton_over_at_once(cluster) -> None:
    a, _ = await cluster("a", singletons=("sweeps",))
    b, _ = await cluster("b", singletons=("sweeps",))
    await a.leases["sweeps"].stop()  # hands it back
    async with asyncio.timeout(15):
        await b.leases["sweeps"].owned.wait()
    assert await a.leases["sweeps"].owner() == ("b", 2)


async def test_an_owner_that_lost_the_lease_stops_acting(cluster) -> None:
    lost = asyncio.Event()
    a, _ = await cluster("a")
    lease = a.singleton("reconciliation", on_lost=lost.set)
    await lease.start()
    assert lease.token == 1
    # Another owner took it (as after this node's pause longer than the lease).
    await a.bus.redis.set(a.bus.keys.lease("reconciliation"), "b|2", px=60_000)
    async with asyncio.timeout(15):
        await lost.wait()
    assert lease.token is None
    await lease.stop()


async def test_nodes_recover_when_redis_comes_back(cluster, redis_server) -> None:
    a, _ = await cluster("a", singletons=("power",))
    b, _ = await cluster("b", singletons=("power",))
    await a.presence.claim("CP1")
    read = asyncio.Event()
    unsubscribe = b.fanout.subscribe(lambda event: read.set())
    seq_before = await a.fanout.publish(ChargerConnected("CP1", "a", 0).row())
    async with asyncio.timeout(15):
        await read.wait()  # b has read it: the numbers go on past what a node has read
    unsubscribe()

    redis_server.kill()
    with pytest.raises(ClusterUnavailableError, match=r"Redis at redis://127\.0\.0\.1:"):
        await b.call("CP1", "Reset", {"type": "Soft"}, 2)
    redis_server.start()  # the same port, empty (no persistence): the nodes rebuild their state

    await eventually(lambda: _holder_is(b, "CP1", "a"), "a's heartbeat re-took CP1")
    await eventually(lambda: _true(a.bus.subscribed.is_set() and b.bus.subscribed.is_set()), "inboxes back")
    assert await b.call("CP1", "Reset", {"type": "Soft"}, 5) == {"status": "Accepted", "answeredBy": "a"}
    # The singleton is owned again (its lease vanished with Redis's data) by one node, with a token past
    # the one given before the restart (the nodes pass the newest they saw as a floor).
    await eventually(lambda: _true([n for n in (a, b) if n.leases["power"].token]), "a singleton owner again")
    owners = [n.leases["power"].token for n in (a, b) if n.leases["power"].token is not None]
    assert len(owners) == 1
    assert owners[0] > 1
    # The sequence keeps growing past what the nodes saw before the restart.
    arrived = asyncio.Event()
    b.fanout.subscribe(lambda event: arrived.set())
    seq_after = await b.fanout.publish(ChargerConnected("CP2", "b", 0).row())
    assert seq_after > seq_before
    async with asyncio.timeout(15):
        await arrived.wait()


async def _true(value: object) -> bool:
    return bool(value)


async def _none_of(node: Node, chargers: tuple[str, ...]) -> bool:
    return all([await node.presence.holder(c) is None for c in chargers])


async def _holder_is(node: Node, charger_id: str, holder: str) -> bool:
    try:
        return await node.presence.holder(charger_id) == holder
    except Exception:
        return False


def test_the_test_server_names_the_debian_package_when_redis_server_is_missing(tmp_path) -> None:
    with pytest.raises(RedisServerMissingError, match=r"Debian's package `redis-server`"):
        RedisServer(tmp_path, search_path=str(tmp_path))
