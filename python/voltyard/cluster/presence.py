"""Presence: which node holds which charger, and which nodes are alive.

A node that accepts a charger's socket `claim`s it: the key `charger:<id>` holds the node's id with a
lease (PX). The node's heartbeat renews the leases of all its chargers in one Lua call (one per 2000
chargers for big fleets) and its own `node:<id>` key, so that when a node dies its chargers' leases expire
within one lease time and another node may claim them. The heartbeat also heals: a lease that vanished
(Redis restarted empty) is taken again, and one another node now holds is dropped and reported (`on_lost`:
the node closes that socket).

`claim` returns the previous holder if another node held the charger, and tells that node over its inbox
to close its socket for the charger ("a new connection replaces the old one", across nodes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from voltyard.cluster.bus import BUS_ERRORS, Bus, cancel_and_wait

__all__ = ["NodeInfo", "Presence", "ReplacedHandler"]

log = logging.getLogger(__name__)

# A charger's socket replaced on another node (or its lease lost): close it here. Args: charger id, the
# node that holds it now (None when unknown).
ReplacedHandler = Callable[[str, str | None], Awaitable[None] | None]

# KEYS: charger key. ARGV: node id, lease ms. Takes the lease; returns the previous holder (or false).
_CLAIM = """
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return previous
"""

# KEYS: charger key. ARGV: node id. Drops the lease only if this node still holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: node key, nodes set, charger keys... ARGV: node id, lease ms, node description.
# Renews the node's lease and each charger's; a charger lease that vanished is taken again; returns the
# indexes (1-based among the charger keys) of those another node holds now.
_HEARTBEAT = """
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
local lost = {}
for i = 3, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  elseif not holder then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  else
    lost[#lost + 1] = i - 2
  end
end
return lost
"""

# Chargers per heartbeat script call: one call holds Redis for its duration, so a big fleet is cut in
# chunks.
_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A live node as its registry key describes it."""

    node_id: str
    pid: int
    started: float


class Presence:
    """This node's chargers and lease; see the module docstring.

    Args:
        bus: The node's bus.
        lease_ms: How long a lease lasts without renewal: a dead node's chargers are free after it.
        on_lost: Called with (charger id, new holder) when the heartbeat finds another node holds a charger
            this node thought it held (it claimed it while this node's renewals did not reach Redis).
    """

    def __init__(self, bus: Bus, *, lease_ms: int = 6000, on_lost: ReplacedHandler | None = None) -> None:
        self._bus = bus
        self._keys = bus.keys
        self.node_id = bus.node_id
        self.lease_ms = lease_ms
        self._on_lost = on_lost
        self.held: set[str] = set()
        self._info = orjson.dumps({"pid": os.getpid(), "started": time.time()}).decode()
        self._claim = bus.redis.register_script(_CLAIM)
        self._release = bus.redis.register_script(_RELEASE)
        self._heartbeat_script = bus.redis.register_script(_HEARTBEAT)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Register the node and start its heartbeat."""
        await self.heartbeat()
        self._task = asyncio.create_task(self._beat(), name=f"cluster heartbeat {self.node_id}")

    async def stop(self, *, release: bool = True) -> None:
        """Stop the heartbeat; with `release`, drop this node's leases and registry entry at once (a
        graceful stop: the chargers may connect elsewhere without waiting for the leases to expire)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if release:
            try:
                for charger_id in list(self.held):
                    await self.release(charger_id)
                await self._bus.redis.delete(self._keys.node(self.node_id))
                await self._bus.redis.srem(self._keys.nodes, self.node_id)
            except BUS_ERRORS as exc:
                log.warning("cluster: node %s could not release its leases: %s", self.node_id, exc)

    async def claim(self, charger_id: str) -> str | None:
        """Take `charger_id`'s lease for this node; returns the node that held it before, if another did,
        after telling that node to close its socket for the charger."""
        previous = await self._claim(
            keys=[self._keys.charger(charger_id)], args=[self.node_id, self.lease_ms]
        )
        self.held.add(charger_id)
        if previous is None or previous == self.node_id:
            return None
        previous = str(previous)
        message = {"kind": "close", "charger": charger_id, "by": self.node_id}
        if await self._bus.send(previous, message) == 0:
            log.info("cluster: %s moved from %s (not listening) to %s", charger_id, previous, self.node_id)
        return previous

    async def release(self, charger_id: str) -> None:
        """Drop `charger_id`'s lease if this node still holds it (its socket closed here)."""
        self.held.discard(charger_id)
        await self._release(keys=[self._keys.charger(charger_id)], args=[self.node_id])

    def forget(self, charger_id: str) -> None:
        """Stop renewing `charger_id` without touching its key (another node holds it now)."""
        self.held.discard(charger_id)

    async def holder(self, charger_id: str) -> str | None:
        """The node that holds `charger_id`, or None if none does (no lease, or it expired)."""
        found = await self._bus.redis.get(self._keys.charger(charger_id))
        return None if found is None else str(found)

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes (their registry key not expired), by id; dead ones are dropped from the set."""
        ids = sorted(str(node) for node in await self._bus.redis.smembers(self._keys.nodes))
        if not ids:
            return []
        values = await self._bus.redis.mget([self._keys.node(node) for node in ids])
        alive: list[NodeInfo] = []
        dead: list[str] = []
        for node, value in zip(ids, values, strict=True):
            if value is None:
                dead.append(node)
                continue
            info: dict[str, Any] = orjson.loads(value)
            alive.append(NodeInfo(node, int(info.get("pid", 0)), float(info.get("started", 0.0))))
        if dead:
            await self._bus.redis.srem(self._keys.nodes, *dead)
        return alive

    async def heartbeat(self) -> list[str]:
        """Renew the node's lease and its chargers' (one script call per chunk of chargers); returns the
        chargers another node holds now (dropped from `held`, and `on_lost` told)."""
        chargers = sorted(self.held)
        chunks = [chargers[i : i + _CHUNK] for i in range(0, len(chargers), _CHUNK)] or [[]]
        node_keys = [self._keys.node(self.node_id), self._keys.nodes]
        args: list[str | int] = [self.node_id, self.lease_ms, self._info]
        lost: list[str] = []
        for chunk in chunks:
            found = await self._heartbeat_script(
                keys=[*node_keys, *(self._keys.charger(c) for c in chunk)], args=args
            )
            lost.extend(chunk[int(i) - 1] for i in found)
        # A charger released while the script ran (its socket closed) may have been renewed or taken again
        # by it: hand it back, so that no lease outlives its socket.
        for charger_id in set(chargers) - self.held - set(lost):
            await self._release(keys=[self._keys.charger(charger_id)], args=[self.node_id])
        lost = [charger_id for charger_id in lost if charger_id in self.held]
        for charger_id in lost:
            self.held.discard(charger_id)
            log.warning("cluster: node %s lost %s to another node", self.node_id, charger_id)
            if self._on_lost is not None:
                holder = await self.holder(charger_id)
                outcome = self._on_lost(charger_id, holder)
                if outcome is not None:
                    await outcome
        return lost

    async def heartbeat_soon(self) -> None:
        """A heartbeat now, out of turn (Redis is back); a failure is left to the next regular one."""
        try:
            await self.heartbeat()
        except BUS_ERRORS as exc:
            log.debug("cluster: heartbeat of %s failed: %s", self.node_id, exc)

    async def _beat(self) -> None:
        # Three renewals per lease: one lost renewal (a blip) does not lose the lease.
        interval = self.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                await self.heartbeat()
            except BUS_ERRORS as exc:
                log.debug("cluster: heartbeat of %s failed: %s", self.node_id, exc)
