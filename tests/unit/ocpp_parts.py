"""The protocol layer of one appliance without a socket: real codec, router, dispatcher, commands, store
(SQLite under tmp_path) and event bus, and a fake `Session` that records what would go on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from voltyard.config import Config
from voltyard.domain.chargers import Chargers
from voltyard.errors import ChargerOfflineError
from voltyard.events.bus import EventBus
from voltyard.events.kinds import Event
from voltyard.metrics import Metrics
from voltyard.ocpp.codec import load_codec
from voltyard.ocpp.commands import Commands
from voltyard.ocpp.dispatch import Dispatcher
from voltyard.ocpp.leniency import Leniency
from voltyard.ocpp.registry import Registry
from voltyard.ocpp.router import Router
from voltyard.ocpp.session import CLOSE_NORMAL
from voltyard.store.db import DB_FILENAME
from voltyard.store.message_log import MessageLog
from voltyard.store.writer import StoreWriter

__all__ = ["HANG_GUARD", "FakeSession", "Parts", "protocol_parts"]

# Generous: only to turn a hang into a failure, never a timing assertion.
HANG_GUARD = 10.0


class FakeSession:
    """A connected charger as the protocol layer sees it; `sent` holds the frames, decoded."""

    def __init__(self, charger_id: str = "CP-1", ocpp_version: str = "1.6") -> None:
        self.charger_id = charger_id
        self.ocpp_version = ocpp_version
        self.profile = 0
        self.source = "test"
        self.last_message = 0.0
        self.admitted = False
        self.sent: list[list[Any]] = []
        self.closes: list[tuple[str, int]] = []
        self._open = True
        self._ready: asyncio.Future[None] | None = None
        self._sent_more = asyncio.Event()

    def send(self, data: bytes) -> None:
        if self._open:
            self.sent.append(orjson.loads(data))
            self._sent_more.set()

    def close(self, reason: str, code: int = CLOSE_NORMAL) -> None:
        self.closes.append((reason, code))
        self._open = False

    def mark_ready(self) -> None:
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
        if not self._ready.done():
            self._ready.set_result(None)

    @property
    def ready(self) -> bool:
        return self._ready is not None and self._ready.done() and not self._ready.cancelled()

    async def wait_ready(self) -> None:
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
        try:
            await asyncio.shield(self._ready)
        except asyncio.CancelledError:
            if self._ready.cancelled():
                raise ChargerOfflineError(f"{self.charger_id}: disconnected before it booted") from None
            raise

    def drop(self) -> None:
        """The transport went away (what the gateway's connection does before `Dispatcher.closed`)."""
        self._open = False
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()

    async def next_frame(self, count: int) -> list[Any]:
        """Wait until `count` frames were sent; the last of them."""
        async with asyncio.timeout(HANG_GUARD):
            while len(self.sent) < count:
                self._sent_more.clear()
                await self._sent_more.wait()
        return self.sent[count - 1]


@dataclass
class Parts:
    config: Config
    store: StoreWriter
    events: EventBus
    chargers: Chargers
    registry: Registry
    metrics: Metrics
    commands: Commands
    router: Router
    dispatcher: Dispatcher
    seen: list[Event] = field(default_factory=list)

    def accept(self, charger_id: str) -> None:
        """Make `charger_id` an accepted charger (as a BootNotification would)."""
        self.chargers.get(charger_id).registration = "Accepted"


@asynccontextmanager
async def protocol_parts(tmp_path: Path, *, call_timeout: float = 30.0) -> AsyncIterator[Parts]:
    config = Config()
    store = StoreWriter(tmp_path / DB_FILENAME)
    await store.start()
    try:
        events = EventBus(store, asyncio.get_running_loop())
        chargers = Chargers(config.ocpp, store, events)
        codec = load_codec()
        message_log = MessageLog(store, max_rows=10_000, max_age_days=1.0)
        registry = Registry()
        metrics = Metrics()
        commands = Commands(registry, codec, events, message_log, metrics, default_timeout=call_timeout)
        router = Router()
        dispatcher = Dispatcher(
            codec,
            router,
            Leniency(config.leniency, chargers, codec),
            commands,
            registry,
            chargers,
            events,
            message_log,
            metrics,
            validate_outgoing=True,
        )
        parts = Parts(config, store, events, chargers, registry, metrics, commands, router, dispatcher)
        events.subscribe(parts.seen.append)
        yield parts
    finally:
        await store.close()
