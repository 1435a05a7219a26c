"""The live event stream: a WebSocket per client, msgpack-encoded events, subscription filters.

Each event is encoded once, whatever the number of clients. A client gets a bounded queue; one that falls
10 000 events behind is disconnected (1008) rather than slowing the appliance or growing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import msgpack
from aiohttp import WSMsgType, web

from voltyard.api.keys import STREAM
from voltyard.events import Event, EventBus, category_of
from voltyard.ocpp.timefmt import iso_utc

__all__ = ["EventStream", "stream_handler"]

log = logging.getLogger(__name__)

MAX_BEHIND = 10_000
_MESSAGE_KINDS = frozenset({"MessageIn", "MessageOut"})


class _Client:
    __slots__ = ("categories", "chargers", "kinds", "queue", "wakeup", "ws")

    def __init__(
        self,
        ws: web.WebSocketResponse,
        kinds: frozenset[str],
        chargers: frozenset[str],
        categories: frozenset[str] = frozenset(),
    ) -> None:
        self.ws = ws
        self.kinds = kinds
        self.chargers = chargers
        self.categories = categories
        self.queue: deque[bytes] = deque()
        self.wakeup = asyncio.Event()

    def wants(self, event: Event, category: str) -> bool:
        if self.kinds:
            if event.kind not in self.kinds:
                return False
        elif event.kind in _MESSAGE_KINDS:  # per-frame events only for those who name them
            return False
        if self.categories and category not in self.categories:
            return False
        return not self.chargers or event.charger_id in self.chargers


class EventStream:
    """Fans events out to the connected stream clients."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._clients: set[_Client] = set()
        self._unsubscribe = bus.subscribe(self._deliver)
        self.dropped_clients = 0
        self._closing: set[asyncio.Future[bool]] = set()

    def _deliver(self, event: Event) -> None:
        if not self._clients:
            return
        encoded: bytes | None = None
        category = category_of(event.kind, event.data)
        for client in self._clients:
            if not client.wants(event, category):
                continue
            if encoded is None:
                encoded = msgpack.packb(
                    {
                        "kind": event.kind,
                        "category": category,
                        "charger_id": event.charger_id,
                        "time": iso_utc(event.time),
                        "data": event.data,
                    }
                )
            if len(client.queue) >= MAX_BEHIND:
                self.dropped_clients += 1
                client.queue.clear()
                closing = asyncio.ensure_future(
                    client.ws.close(code=1008, message=b"too far behind the event stream")
                )
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
                continue
            client.queue.append(encoded)
            client.wakeup.set()

    def _retap(self) -> None:
        self._bus.tap_messages = any(client.kinds & _MESSAGE_KINDS for client in self._clients)
        self._bus.want_live = bool(self._clients)

    async def serve(
        self,
        ws: web.WebSocketResponse,
        kinds: frozenset[str],
        chargers: frozenset[str],
        categories: frozenset[str] = frozenset(),
    ) -> None:
        client = _Client(ws, kinds, chargers, categories)
        self._clients.add(client)
        self._retap()
        sender = asyncio.ensure_future(self._send(client))
        try:
            async for message in ws:
                if message.type is WSMsgType.BINARY:
                    self._refilter(client, message.data)
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            self._clients.discard(client)
            self._retap()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def _refilter(self, client: _Client, data: bytes) -> None:
        try:
            update = msgpack.unpackb(data)
        except (ValueError, msgpack.ExtraData) as exc:
            log.info("stream client sent an unreadable filter: %s", exc)
            return
        if isinstance(update, dict):
            client.kinds = frozenset(str(k) for k in update.get("kinds") or ())
            client.chargers = frozenset(str(c) for c in update.get("chargers") or ())
            client.categories = frozenset(str(c) for c in update.get("categories") or ())
            self._retap()

    @staticmethod
    async def _send(client: _Client) -> None:
        while not client.ws.closed:
            await client.wakeup.wait()
            client.wakeup.clear()
            while client.queue and not client.ws.closed:
                await client.ws.send_bytes(client.queue.popleft())

    async def close_all(self) -> None:
        for client in list(self._clients):
            await client.ws.close(code=1001, message=b"appliance shutting down")
        self._unsubscribe()


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(item for item in (value or "").split(",") if item)


async def stream_handler(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    query = request.query
    await request.app[STREAM].serve(
        ws, _csv(query.get("kinds")), _csv(query.get("chargers")), _csv(query.get("categories"))
    )
    return ws
