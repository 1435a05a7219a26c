"""Command routing: `call(charger_id, action, payload, timeout)` on any node reaches the node that holds
the charger and returns its answer.

The caller takes the charger's call lock (`call:<id>`, SET NX with a TTL a little past the timeout) so that
one call per charger is outstanding cluster-wide; later calls wait their turn (until their timeout), as
calls to one charger do on one node. It then reads the holder: itself (the handler runs here), none
(`ChargerOfflineError`), or another node, whose inbox gets the call; the answer comes back to the caller's
inbox. While it waits, the caller checks the holder's lease every `lease check` interval: if it expired or
moved, the node was lost (`NodeLostError`). No answer in time: `CommandTimeoutError`. Redis unreachable:
`ClusterUnavailableError`. The holder's own typed errors (offline, timeout, a CALLERROR, a refused payload)
travel back as they were raised (`_ERRORS` is the one table of them).

The handler is the node's: the runtime passes the local `Commands.call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from voltyard.cluster.bus import BUS_ERRORS, Bus
from voltyard.cluster.presence import Presence
from voltyard.config import redacted_url
from voltyard.errors import (
    CallErrorReceivedError,
    ChargerOfflineError,
    ClusterUnavailableError,
    CommandError,
    CommandTimeoutError,
    InvalidCommandError,
    NodeLostError,
)

__all__ = ["CallHandler", "Router"]

log = logging.getLogger(__name__)

# (charger id, action, payload, timeout) -> the charger's answer; raises CommandError subclasses.
CallHandler = Callable[[str, str, dict[str, Any], float], Awaitable[dict[str, Any]]]

# The errors that cross from the holder node back to the caller, by class name: the one table both sides
# read. CallErrorReceivedError carries its own fields (code, description, details).
_ERRORS: dict[str, type[CommandError]] = {
    cls.__name__: cls
    for cls in (
        ChargerOfflineError,
        CommandTimeoutError,
        InvalidCommandError,
        NodeLostError,
        ClusterUnavailableError,
        CommandError,
    )
}

# KEYS: lock key. ARGV: token. Drops the call lock only if this call still holds it.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# The lock outlives the call's timeout by this much, so that a caller that died frees it soon after.
_LOCK_MARGIN_MS = 2000
# Waiting for the lock: first retry, and the cap of the backoff between retries.
_LOCK_RETRY_FIRST = 0.005
_LOCK_RETRY_CAP = 0.1


def _error_message(exc: CommandError) -> dict[str, Any]:
    if isinstance(exc, CallErrorReceivedError):
        return {"error": "CallErrorReceivedError", "code": exc.code, "description": exc.description,
                "details": exc.details}  # fmt: skip
    name = type(exc).__name__
    return {"error": name if name in _ERRORS else "CommandError", "message": str(exc)}


def _error_from(reply: dict[str, Any]) -> CommandError:
    name = str(reply.get("error"))
    if name == "CallErrorReceivedError":
        details = reply.get("details")
        return CallErrorReceivedError(
            str(reply.get("code")),
            str(reply.get("description")),
            details if isinstance(details, dict) else {},
        )
    return _ERRORS.get(name, CommandError)(str(reply.get("message")))


class Router:
    """Routes calls to the holder node and serves the calls routed to this one.

    Args:
        bus: The node's bus (its inbox receives "call" and "reply").
        presence: Who holds which charger.
        handler: Runs a call on this node (the local `Commands.call`).
        lease_check: Seconds between checks of the holder's lease while waiting for an answer (default: a
            third of the lease).
    """

    def __init__(
        self, bus: Bus, presence: Presence, handler: CallHandler, *, lease_check: float | None = None
    ) -> None:
        self._bus = bus
        self._keys = bus.keys
        self._presence = presence
        self._handler = handler
        self._lease_check = lease_check if lease_check is not None else presence.lease_ms / 3000
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._unlock = bus.redis.register_script(_UNLOCK)
        bus.on("call", self._serve)
        bus.on("reply", self._answered)

    async def call(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """Send `action` to `charger_id` wherever it is connected and return its answer.

        Raises:
            ChargerOfflineError: no node holds the charger (or its node found it gone).
            CommandTimeoutError: no answer, or no turn, within `timeout`.
            NodeLostError: the holder node's lease expired (or it stopped listening) before it answered.
            ClusterUnavailableError: Redis is unreachable.
            CallErrorReceivedError, InvalidCommandError: as the holder's handler raised them.
        """
        deadline = time.monotonic() + timeout
        token = uuid.uuid4().hex
        lock = self._keys.call_lock(charger_id)
        try:
            await self._lock(lock, token, f"{charger_id}: {action}", timeout, deadline)
            try:
                return await self._route(charger_id, action, payload, timeout, deadline)
            finally:
                # Redis away: the lock's TTL frees it; the call's own outcome stands.
                with contextlib.suppress(*BUS_ERRORS):
                    await self._unlock(keys=[lock], args=[token])
        except CommandError:
            raise  # typed already (CommandTimeoutError is an OSError, as BUS_ERRORS are)
        except BUS_ERRORS as exc:
            raise ClusterUnavailableError(
                f"{charger_id}: {action} not routed, Redis at {redacted_url(self._bus.url)} is "
                f"unreachable: {exc}"
            ) from None

    async def _lock(self, lock: str, token: str, what: str, timeout: float, deadline: float) -> None:
        ttl = int(timeout * 1000) + _LOCK_MARGIN_MS
        pause = _LOCK_RETRY_FIRST
        while not await self._bus.redis.set(lock, token, nx=True, px=ttl):
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommandTimeoutError(
                    f"{what} got no turn within {timeout:.1f} s (another call is outstanding)"
                )
            # Polling: Redis has no blocking SET NX; the backoff keeps it cheap while another call runs.
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _LOCK_RETRY_CAP)

    async def _route(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float, deadline: float
    ) -> dict[str, Any]:
        holder = await self._presence.holder(charger_id)
        if holder is None:
            raise ChargerOfflineError(f"{charger_id} is not connected to any node")
        left = deadline - time.monotonic()
        if holder == self._bus.node_id:
            return await self._handler(charger_id, action, payload, left)
        call_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        try:
            message = {"kind": "call", "id": call_id, "from": self._bus.node_id, "charger": charger_id,
                       "action": action, "payload": payload, "timeout": left}  # fmt: skip
            if await self._bus.send(holder, message) == 0:
                raise NodeLostError(f"{charger_id}: its node {holder} is not listening")
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CommandTimeoutError(f"{charger_id}: no answer to {action} within {timeout:.1f} s")
                try:
                    reply = await asyncio.wait_for(asyncio.shield(future), min(self._lease_check, left))
                    break
                except TimeoutError:
                    now = await self._presence.holder(charger_id)
                    if now != holder:
                        where = "no node holds it now" if now is None else f"node {now} holds it now"
                        raise NodeLostError(
                            f"{charger_id}: node {holder} was lost before answering {action} ({where})"
                        ) from None
        finally:
            self._waiting.pop(call_id, None)
            future.cancel()
        if "error" in reply:
            raise _error_from(reply)
        answer = reply.get("answer")
        return answer if isinstance(answer, dict) else {}

    async def _serve(self, message: dict[str, Any]) -> None:
        charger_id = str(message.get("charger"))
        action = str(message.get("action"))
        payload = message.get("payload")
        timeout = float(message.get("timeout") or 0.0)
        reply: dict[str, Any] = {"kind": "reply", "id": message.get("id")}
        try:
            if not isinstance(payload, dict):
                raise InvalidCommandError(f"{action} request is not a JSON object")
            reply["answer"] = await self._handler(charger_id, action, payload, timeout)
        except CommandError as exc:
            reply.update(_error_message(exc))
        except Exception as exc:
            log.exception("cluster: routed %s to %s failed", action, charger_id)
            reply.update({"error": "CommandError", "message": f"{charger_id}: {action} failed: {exc}"})
        await self._bus.send(str(message.get("from")), reply)

    def _answered(self, message: dict[str, Any]) -> None:
        future = self._waiting.get(str(message.get("id")))
        if future is not None and not future.done():
            future.set_result(message)
