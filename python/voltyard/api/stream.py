"""The live event stream: a WebSocket per client, msgpack-encoded events, subscription filters.

Each event is encoded once, whatever the number of clients. A client gets a queue bounded in bytes
(`server.stream_max_buffer`): one that leaves more than that unread is dropped (its connection cut, one log
line, counted in /metrics as voltyard_stream_clients_dropped_total) and its queue released, rather than
slowing the appliance or growing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import msgpack
from aiohttp import WSCloseCode, WSMsgType, web

from voltyard.api.errors import ApiError
from voltyard.api.keys import STREAM
from voltyard.events.bus import EventBus
from voltyard.events.kinds import CATEGORIES, Event, MessageIn, MessageOut
from voltyard.ocpp.timefmt import iso_utc

__all__ = ["EventStream", "stream_handler"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BUFFER = 16 * 1024 * 1024
# What a queued event costs beyond its bytes (the deque's slot and the bytes object's header), so that a
# flood of tiny events is bounded too.
_ENTRY_OVERHEAD = 64
_MESSAGE_KINDS = frozenset({MessageIn.__name__, MessageOut.__name__})
_FILTER_KEYS = ("kinds", "chargers", "categories")


class _Client:
    __slots__ = ("categories", "chargers", "kinds", "peer", "queue", "queued", "transport", "wakeup", "ws")

    def __init__(
        self,
        ws: web.WebSocketResponse,
        kinds: frozenset[str],
        chargers: frozenset[str],
        categories: frozenset[str] = frozenset(),
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.ws = ws
        self.kinds = kinds
        self.chargers = chargers
        self.categories = categories
        self.queue: deque[bytes] = deque()
        self.queued = 0  # bytes in `queue`, with _ENTRY_OVERHEAD each
        self.wakeup = asyncio.Event()
        self.transport = transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"

    def wants(self, event: Event, category: str) -> bool:
        if self.kinds:
            if event.kind not in self.kinds:
                return False
        elif isinstance(event, (MessageIn, MessageOut)):  # per-frame events only for those who name them
            return False
        if self.categories and category not in self.categories:
            return False
        return not self.chargers or event.charger_id in self.chargers


class EventStream:
    """Fans events out to the connected stream clients."""

    def __init__(self, bus: EventBus, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self._bus = bus
        self.max_buffer = max_buffer
        self._clients: set[_Client] = set()
        self._unsubscribe = bus.subscribe(self._deliver)
        self.dropped_clients = 0
        self._closing: set[asyncio.Future[bool]] = set()
        self._dropping: set[_Client] = set()

    def _deliver(self, event: Event) -> None:
        if not self._clients:
            return
        encoded: bytes | None = None
        category = event.category()
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
                        "data": event.data(),
                    }
                )
            size = len(encoded) + _ENTRY_OVERHEAD
            # One event always fits (a frame may be larger than the bound): it is a backlog that drops.
            if client.queued + size > self.max_buffer and client.queue:
                self._drop(client)
                continue
            client.queue.append(encoded)
            client.queued += size
            client.wakeup.set()
        if self._dropping:
            self._clients -= self._dropping
            self._dropping.clear()
            self._retap()

    def _drop(self, client: _Client) -> None:
        """`client` left more than `max_buffer` bytes of events unread: cut it off and release its queue.
        Its connection is aborted, not closed: a close would queue behind what it does not read."""
        self.dropped_clients += 1
        log.warning(
            "event-stream client %s dropped: over %d bytes of events unread (server.stream_max_buffer)",
            client.peer, self.max_buffer,
        )  # fmt: skip
        client.queue.clear()
        client.queued = 0
        self._dropping.add(client)  # out of `_clients` once the loop over them is done
        if client.transport is not None:
            client.transport.abort()
            return
        closing = asyncio.ensure_future(
            client.ws.close(code=1008, message=b"too far behind the event stream")
        )
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    def _retap(self) -> None:
        self._bus.tap_messages = any(client.kinds & _MESSAGE_KINDS for client in self._clients)
        self._bus.want_live = bool(self._clients)

    async def serve(
        self,
        ws: web.WebSocketResponse,
        kinds: frozenset[str],
        chargers: frozenset[str],
        categories: frozenset[str] = frozenset(),
        transport: asyncio.Transport | None = None,
    ) -> None:
        client = _Client(ws, kinds, chargers, categories, transport)
        self._clients.add(client)
        self._retap()
        sender = asyncio.ensure_future(self._send(client))
        try:
            async for message in ws:
                if message.type is WSMsgType.BINARY:
                    await self._refilter(client, message.data)
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            self._clients.discard(client)
            self._retap()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _refilter(self, client: _Client, data: bytes) -> None:
        try:
            client.kinds, client.chargers, client.categories = _filter_update(data)
        except ValueError as exc:
            # A client that sends a filter it did not mean gets told what was wrong and is closed, rather
            # than keep a filter it does not know it has (a malformed one once ended the handler with a
            # traceback). A close reason holds at most 123 bytes.
            log.info("stream client sent a malformed filter: %s", exc)
            reason = f"malformed filter: {exc}".encode()[:123]
            await client.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason)
            return
        self._retap()

    @staticmethod
    async def _send(client: _Client) -> None:
        while not client.ws.closed:
            await client.wakeup.wait()
            client.wakeup.clear()
            while client.queue and not client.ws.closed:
                data = client.queue.popleft()
                client.queued -= len(data) + _ENTRY_OVERHEAD
                await client.ws.send_bytes(data)

    async def close_all(self) -> None:
        for client in list(self._clients):
            await client.ws.close(code=1001, message=b"appliance shutting down")
        self._unsubscribe()


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(item for item in (value or "").split(",") if item)


def _unknown_categories(categories: frozenset[str]) -> str | None:
    unknown = sorted(categories - frozenset(CATEGORIES))
    if not unknown:
        return None
    return f"categories: unknown {', '.join(unknown)} (known: {', '.join(CATEGORIES)})"


def _strings(update: dict[object, object], key: str) -> frozenset[str]:
    value = update.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key}: expected a list of strings, got {value!r:.40}")
    return frozenset(value)


def _filter_update(data: bytes) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The kinds, chargers and categories of a filter update: a msgpack map of lists of strings.

    Raises:
        ValueError: naming what is wrong (not msgpack, not a map, an unknown key, a value or category).
    """
    try:
        update = msgpack.unpackb(data)
    except ValueError as exc:  # msgpack's errors (ExtraData, FormatError, StackError...) are ValueErrors
        raise ValueError(f"not msgpack ({exc})") from None
    if not isinstance(update, dict):
        raise ValueError(f"expected a msgpack map, got {type(update).__name__}")
    unknown = sorted(str(key) for key in update if key not in _FILTER_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(_FILTER_KEYS)})")
    categories = _strings(update, "categories")
    problem = _unknown_categories(categories)
    if problem is not None:
        raise ValueError(problem)
    return _strings(update, "kinds"), _strings(update, "chargers"), categories


async def stream_handler(request: web.Request) -> web.WebSocketResponse:
    query = request.query
    categories = _csv(query.get("categories"))
    problem = _unknown_categories(categories)
    if problem is not None:  # refused before the upgrade, as /events refuses it
        raise ApiError(422, "invalid_request", problem)
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    await request.app[STREAM].serve(
        ws, _csv(query.get("kinds")), _csv(query.get("chargers")), categories, request.transport
    )
    return ws
