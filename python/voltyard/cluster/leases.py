"""Singletons under a lease with a fencing token: the site power manager, the heartbeat-loss sweeps and
reconciliation run on one node at a time.

Every node runs a `SingletonLease` for each singleton. While nobody owns it, each tries to take the lease
(`lease:<name>`, SET NX PX); the winner gets the next fencing token (INCR `fence:<name>`, in the same Lua
call) and its `on_acquired(token)` runs. The owner renews the lease three times per lease time, only if it
still owns it (Lua compare-and-extend); when the renewal fails, or no renewal has reached Redis for almost
a lease time, it calls `on_lost()` and stops acting. When the owner dies its lease expires, and another node
takes it at its next attempt: takeover within a lease time and a third.

The token orders the owners: a store or actuator given writes with tokens keeps a `Fence`, which refuses a
token older than the newest it has seen (`StaleLeaseError`), so a paused old owner that wakes up cannot
overwrite the new one's decisions. If Redis lost its data (restarted without persistence), INCR would start
again at 1: every node keeps the highest token it has seen of the lease, and an acquisition passes it as a
floor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from voltyard.cluster.bus import BUS_ERRORS, Bus, cancel_and_wait
from voltyard.errors import StaleLeaseError

__all__ = ["Fence", "SingletonLease"]

log = logging.getLogger(__name__)

# KEYS: lease, fence. ARGV: node id, lease ms, token floor. The token if taken, else 0.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  local floor = tonumber(ARGV[3])
  if token <= floor then
    token = floor + 1
    redis.call('SET', KEYS[2], token)
  end
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
  return token
end
return 0
"""

# KEYS: lease. ARGV: owner value (`node|token`), lease ms. 1 if extended, 0 if another owns it (or none).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lease. ARGV: owner value. Drops the lease only if still the owner's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

Callback = Callable[[], Awaitable[None] | None]
TokenCallback = Callable[[int], Awaitable[None] | None]


class Fence:
    """The writes side of fencing: admits a token at least as new as the newest seen."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.newest = 0

    def admit(self, token: int) -> None:
        """Accept a write fenced with `token`, or raise StaleLeaseError if a newer owner wrote already."""
        if token < self.newest:
            raise StaleLeaseError(
                f"{self.name}: a write with lease token {token} refused, the owner with token "
                f"{self.newest} took over"
            )
        self.newest = token


class SingletonLease:
    """One node's bid for one singleton; see the module docstring.

    Args:
        bus: The node's bus.
        name: The singleton's name (`power`, `sweeps`, `reconciliation`).
        lease_ms: How long the lease lasts without renewal.
        on_acquired: Called with the fencing token when this node becomes the owner.
        on_lost: Called when this node stops being the owner (not on `stop`).
    """

    def __init__(
        self,
        bus: Bus,
        name: str,
        *,
        lease_ms: int = 5000,
        on_acquired: TokenCallback | None = None,
        on_lost: Callback | None = None,
    ) -> None:
        self._bus = bus
        self.name = name
        self.lease_ms = lease_ms
        self._key = bus.keys.lease(name)
        self._fence_key = bus.keys.fence(name)
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._acquire = bus.redis.register_script(_ACQUIRE)
        self._renew = bus.redis.register_script(_RENEW)
        self._release = bus.redis.register_script(_RELEASE)
        self._task: asyncio.Task[None] | None = None
        # This node's token while it owns the singleton, else None.
        self.token: int | None = None
        # The newest token seen of this lease (the floor of an acquisition).
        self.newest_seen = 0
        # Until when (monotonic) the last renewal that reached Redis keeps the lease ours.
        self._valid_until = 0.0
        self.owned = asyncio.Event()

    @property
    def value(self) -> str:
        return f"{self._bus.node_id}|{self.token}"

    async def start(self) -> None:
        """Start bidding (the first attempt runs before this returns)."""
        await self._attempt()
        self._task = asyncio.create_task(self._run(), name=f"cluster lease {self.name}")

    async def stop(self, *, release: bool = True) -> None:
        """Stop; with `release`, hand the lease back at once (a graceful stop) if this node owns it."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if release and self.token is not None:
            try:
                await self._release(keys=[self._key], args=[self.value])
            except BUS_ERRORS as exc:
                log.warning("cluster: lease %s not released (its lease time frees it): %s", self.name, exc)
        self.token = None
        self.owned.clear()

    async def owner(self) -> tuple[str, int] | None:
        """The owner's node id and token now, or None."""
        found = await self._bus.redis.get(self._key)
        if found is None:
            return None
        node, _, token = str(found).rpartition("|")
        return node, int(token)

    async def _run(self) -> None:
        interval = self.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            await self._attempt()

    async def _attempt(self) -> None:
        if self.token is None:
            await self._try_acquire()
        else:
            await self._try_renew()

    async def _try_acquire(self) -> None:
        sent = time.monotonic()
        try:
            token = int(
                await self._acquire(
                    keys=[self._key, self._fence_key],
                    args=[self._bus.node_id, self.lease_ms, self.newest_seen],
                )
            )
            if not token:
                seen = await self.owner()
                if seen is not None:
                    self.newest_seen = max(self.newest_seen, seen[1])
                return
        except BUS_ERRORS as exc:
            log.debug("cluster: lease %s not bid for: %s", self.name, exc)
            return
        self.token = token
        self.newest_seen = max(self.newest_seen, token)
        self._valid_until = sent + self.lease_ms / 1000 * 0.9
        self.owned.set()
        log.info("cluster: node %s owns %s (token %d)", self._bus.node_id, self.name, token)
        await self._call(self._on_acquired, token)

    async def _try_renew(self) -> None:
        sent = time.monotonic()
        try:
            extended = bool(await self._renew(keys=[self._key], args=[self.value, self.lease_ms]))
        except BUS_ERRORS as exc:
            # Not reached: still ours until the last renewal runs out (minus a margin for clock drift).
            if time.monotonic() < self._valid_until:
                log.debug("cluster: lease %s not renewed: %s", self.name, exc)
                return
            extended = False
        if extended:
            self._valid_until = sent + self.lease_ms / 1000 * 0.9
            return
        log.warning("cluster: node %s lost %s (token %s)", self._bus.node_id, self.name, self.token)
        self.token = None
        self.owned.clear()
        await self._call(self._on_lost)

    async def _call(self, callback: Callable[..., Awaitable[None] | None] | None, *args: int) -> None:
        if callback is None:
            return
        try:
            outcome = callback(*args)
            if outcome is not None:
                await outcome
        except Exception:
            log.exception("cluster: lease %s callback failed", self.name)
