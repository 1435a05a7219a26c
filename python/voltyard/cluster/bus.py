"""The connection to Redis and the node's inbox: the one place that talks to the server.

`Bus.start()` checks at once that Redis answers (a `ClusterError` naming the URL, password redacted, when it
does not: the CLI maps it to one line and exit 2) and subscribes to the node's inbox channel. Messages to a
node are JSON objects with a `kind` ("call", "reply", "close"); the modules above register a handler per
kind with `on()`. When Redis goes away the listener keeps retrying with a capped backoff and subscribes
again when it is back (no restart); commands given meanwhile raise redis-py's errors, which each module
maps to its own typed error. A message published while a node's subscription is down is lost (pub/sub
keeps nothing): `send()` returns how many nodes received it, so that a caller knows at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError, ConnectionError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from voltyard.cluster.keys import Keys
from voltyard.config import redacted_url
from voltyard.errors import ClusterError

__all__ = ["BUS_ERRORS", "Bus", "InboxHandler", "cancel_and_wait"]

log = logging.getLogger(__name__)

# What a Redis command raises when the server is unreachable or the link broke.
BUS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

InboxHandler = Callable[[dict[str, Any]], Awaitable[None] | None]

# The listener's backoff between attempts while Redis is away: short first (a blip), capped so that a node
# notices the server's return within a second.
_BACKOFF_FIRST = 0.05
_BACKOFF_CAP = 1.0


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel `task` and wait until it ended. redis-py (8.2) may swallow a cancellation that lands while
    it opens a connection, and the task then goes on waiting for a reply: the cancellation is repeated
    until the task is done."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
    if not task.cancelled() and task.exception() is not None:
        log.warning("cluster: %s ended with %r", task.get_name(), task.exception())


class Bus:
    """One node's link to Redis: the client, the key names and the inbox.

    Args:
        url: `redis://[user:password@]host:port/db` (or `rediss://`, `unix://`).
        node_id: This node's id, unique in the cluster.
        prefix: The prefix of every key and channel (`Keys`).
        connect_timeout: Seconds to wait for a connection before calling Redis unreachable.
    """

    def __init__(
        self, url: str, node_id: str, *, prefix: str = "voltyard", connect_timeout: float = 2.0
    ) -> None:
        self.url = url
        self.node_id = node_id
        self.keys = Keys(prefix)
        self._connect_timeout = connect_timeout
        try:
            self.redis: aioredis.Redis = aioredis.Redis.from_url(
                url,
                decode_responses=True,
                # RESP2: the shapes the modules read (XREAD's nested lists) are the same on Redis 5 to 8.
                protocol=2,
                socket_connect_timeout=connect_timeout,
                # A reply never takes this long on a healthy server; blocking reads (XREAD BLOCK) ask for
                # less. It bounds how long a command hangs on a server that stopped answering.
                socket_timeout=10.0,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
                health_check_interval=5,
            )
        except ValueError as exc:
            raise ClusterError(f"cluster: {redacted_url(url)} is not a Redis URL: {exc}") from None
        self._handlers: dict[str, InboxHandler] = {}
        self._reconnected: list[Callable[[], Awaitable[None] | None]] = []
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.subscribed = asyncio.Event()
        self.up = False

    def on(self, kind: str, handler: InboxHandler) -> None:
        """Call `handler(message)` for every inbox message of `kind`."""
        if kind in self._handlers:
            raise ValueError(f"inbox kind {kind!r} already has a handler")
        self._handlers[kind] = handler

    def on_reconnect(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Call `callback()` each time the inbox is subscribed again after Redis was lost."""
        self._reconnected.append(callback)

    async def start(self) -> None:
        """Check that Redis answers and subscribe to the inbox.

        Raises:
            ClusterError: Redis is unreachable or refused us (the message names the URL, redacted).
        """
        where = f"cluster: Redis at {redacted_url(self.url)}"
        try:
            await self.redis.ping()
        except BUS_ERRORS as exc:
            await self.redis.aclose()
            # A server that answered but refused us (a password, an ACL) is not "unreachable".
            unreachable = isinstance(exc, (ConnectionError, RedisTimeoutError, OSError))
            if isinstance(exc, AuthenticationError) or not unreachable:
                raise ClusterError(f"{where} refused this node: {exc}") from None
            raise ClusterError(f"{where} is unreachable: {exc}") from None
        self.up = True
        self._listener = asyncio.create_task(self._listen(), name=f"cluster inbox {self.node_id}")
        try:
            async with asyncio.timeout(self._connect_timeout * 5):
                await self.subscribed.wait()
        except TimeoutError:
            await self.stop()
            raise ClusterError(f"{where} answered PING but not the inbox's SUBSCRIBE") from None

    async def stop(self) -> None:
        """Stop listening and close the connections (nothing is released: see `Node.stop`)."""
        await cancel_and_wait(self._listener)
        self._listener = None
        for task in list(self._tasks):
            await cancel_and_wait(task)
        await self.redis.aclose()

    async def send(self, node_id: str, message: dict[str, Any]) -> int:
        """Publish `message` to `node_id`'s inbox; returns how many subscribers received it (0: the node
        is not listening). Raises redis-py's errors (BUS_ERRORS) when Redis is unreachable."""
        return int(await self.redis.publish(self.keys.inbox(node_id), orjson.dumps(message)))

    def spawn(self, work: Awaitable[None], name: str) -> None:
        """Run `work` as a task the bus keeps (and cancels on stop)."""

        async def run() -> None:
            try:
                await work
            except BUS_ERRORS as exc:
                log.warning("cluster: %s failed, Redis unreachable: %s", name, exc)
            except Exception:
                log.exception("cluster: %s failed", name)

        task = asyncio.create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen(self) -> None:
        backoff = _BACKOFF_FIRST
        lost = False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.keys.inbox(self.node_id))
                if lost:
                    log.warning("cluster: Redis at %s is back; node %s listens again",
                                redacted_url(self.url), self.node_id)  # fmt: skip
                    lost = False
                    self.up = True
                    for callback in self._reconnected:
                        outcome = callback()
                        if outcome is not None:
                            self.spawn(outcome, "cluster reconnect")
                self.subscribed.set()
                backoff = _BACKOFF_FIRST
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        self._dispatch(message.get("data"))
            except BUS_ERRORS as exc:
                self.subscribed.clear()
                if not lost:
                    log.warning("cluster: lost Redis at %s (%s); retrying", redacted_url(self.url), exc)
                    lost = True
                    self.up = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_CAP)
            finally:
                with contextlib.suppress(*BUS_ERRORS):
                    await pubsub.aclose()

    def _dispatch(self, data: object) -> None:
        try:
            message = orjson.loads(data) if isinstance(data, (str, bytes)) else None
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            log.warning("cluster: node %s dropped an unreadable inbox message", self.node_id)
            return
        handler = self._handlers.get(str(message.get("kind")))
        if handler is None:
            log.warning("cluster: node %s: no handler for inbox kind %r", self.node_id, message.get("kind"))
            return
        try:
            outcome = handler(message)
        except Exception:
            log.exception("cluster: inbox handler failed on %r", message.get("kind"))
            return
        if outcome is not None:
            self.spawn(outcome, f"cluster inbox {message.get('kind')}")
