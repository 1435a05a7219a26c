"""One node of the cluster: its bus, presence, command routing, event fan-out and singleton leases,
started and stopped together. The runtime builds one `Node` when `[cluster] redis` is set and passes it
what it owns: the local call of a charger (`Commands.call`) and how to close a charger's socket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from voltyard.cluster.bus import Bus
from voltyard.cluster.fanout import Fanout
from voltyard.cluster.leases import Callback, SingletonLease, TokenCallback
from voltyard.cluster.presence import Presence, ReplacedHandler
from voltyard.cluster.routing import CallHandler, Router

__all__ = ["Node"]

log = logging.getLogger(__name__)


class Node:
    """A node of the cluster.

    Args:
        url: Redis URL.
        node_id: This node's id, unique in the cluster.
        call_local: Runs a call on a charger connected here (the local `Commands.call`).
        close_local: Closes this node's socket of a charger that connected to another node (or whose lease
            another node took).
        lease_ms: Lease time of the node, its chargers and its singletons.
        prefix: The prefix of every key and channel.
    """

    def __init__(
        self,
        url: str,
        node_id: str,
        *,
        call_local: CallHandler,
        close_local: ReplacedHandler,
        lease_ms: int = 6000,
        prefix: str = "voltyard",
    ) -> None:
        self.node_id = node_id
        self.bus = Bus(url, node_id, prefix=prefix)
        self._close_local = close_local
        self.presence = Presence(self.bus, lease_ms=lease_ms, on_lost=close_local)
        self.router = Router(self.bus, self.presence, call_local)
        self.fanout = Fanout(self.bus)
        self.leases: dict[str, SingletonLease] = {}
        self.lease_ms = lease_ms
        self.bus.on("close", self._close)
        # Back from a Redis outage: renew at once (a Redis restarted empty lost every lease).
        self.bus.on_reconnect(self.presence.heartbeat_soon)

    def singleton(
        self, name: str, *, on_acquired: TokenCallback | None = None, on_lost: Callback | None = None
    ) -> SingletonLease:
        """Bid for the singleton `name` once the node starts (or at once if it runs)."""
        lease = SingletonLease(
            self.bus, name, lease_ms=self.lease_ms, on_acquired=on_acquired, on_lost=on_lost
        )
        self.leases[name] = lease
        return lease

    async def start(self) -> None:
        """Connect (ClusterError naming the URL if Redis is unreachable), register, start every part."""
        await self.bus.start()
        await self.presence.start()
        await self.fanout.start()
        for lease in self.leases.values():
            await lease.start()

    async def stop(self, *, release: bool = True) -> None:
        """Stop every part; with `release` (a graceful stop) hand back the chargers and leases at once,
        without, leave them to expire (as if the node died)."""
        for lease in self.leases.values():
            await lease.stop(release=release)
        await self.fanout.stop()
        await self.presence.stop(release=release)
        await self.bus.stop()

    async def call(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """`Router.call`: the charger's answer wherever it is connected."""
        return await self.router.call(charger_id, action, payload, timeout)

    async def _close(self, message: dict[str, Any]) -> None:
        charger_id = str(message.get("charger"))
        if charger_id not in self.presence.held:
            return
        self.presence.forget(charger_id)
        outcome = self._close_local(charger_id, str(message.get("by")))
        if outcome is not None:
            await outcome
        await asyncio.sleep(0)  # let the close run before the next inbox message
