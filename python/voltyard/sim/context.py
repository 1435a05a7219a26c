"""What every simulated charger of a run shares: loop, codec, options, measurements, clock origin, logs.

Chargers keep a reference to one `FleetContext` instead of copies of its fields, which keeps each
charger small; the fleet owns the context and fills in its callbacks.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from voltyard._native import Call, CallError, CallResult, CallResultError, OcppCodec, Send
from voltyard.ocpp.codec import load_codec
from voltyard.sim.frames import FrameLog
from voltyard.sim.link import ConnectOptions
from voltyard.sim.plan import ActionRecord
from voltyard.sim.stats import Stats

if TYPE_CHECKING:
    from voltyard.sim.charger import SimCharger

__all__ = ["FleetContext"]


class FleetContext:
    """Shared state of one run's chargers."""

    __slots__ = (
        "action_log",
        "codec",
        "connect_slots",
        "frames",
        "jitter",
        "loop",
        "message_ids",
        "on_booted",
        "on_change",
        "on_connect_failed",
        "on_connected",
        "on_load_answered",
        "options",
        "run_token",
        "settings",
        "stats",
        "t0",
        "tx_ids",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        codec: OcppCodec,
        options: ConnectOptions,
        settings: Mapping[str, str],
        *,
        seed: int,
        connect_concurrency: int = 256,
    ) -> None:
        self.loop = loop
        self.codec = codec
        self.options = options
        self.settings = dict(settings)
        self.stats = Stats()
        # Reconnect jitter affects timing only, never which actions happen, so one fleet-wide generator
        # serves: its draws may depend on timing without disturbing the chargers' own generators.
        self.jitter = random.Random(seed ^ 0x5EED)
        self.message_ids = itertools.count(1)
        self.tx_ids = itertools.count(1)  # 2.x transactionIds (with `run_token`)
        # Bounds simultaneous handshakes (a real depot's chargers do not all dial in the same millisecond,
        # and an unbounded burst of 10 000 SYNs overflows the listen backlog).
        self.connect_slots = asyncio.Semaphore(connect_concurrency)
        self.action_log: list[ActionRecord] = []
        self.frames: FrameLog | None = None  # every frame both ways, when the run keeps a frame log
        self.t0 = loop.time()
        # 2.x chargers make their own transactionIds: this run's token keeps them unique per charger
        # across runs against the same central system (charger ids repeat from run to run).
        self.run_token = f"{time.time_ns() // 1_000_000 % 0xFFFFFFFFFF:x}"
        self.on_connected: Callable[[SimCharger], None] = _ignore
        self.on_booted: Callable[[SimCharger], None] = _ignore
        # A charger's session got its transaction id, or its limits changed (tests and tools await it).
        self.on_change: Callable[[SimCharger], None] = _ignore
        self.on_load_answered: Callable[[SimCharger], None] = _ignore
        # A connection attempt failed (the charger retries by itself); the run says so once.
        self.on_connect_failed: Callable[[SimCharger, BaseException], None] = _ignore_failure

    def codec_for(self, version: str) -> OcppCodec[Call | CallResult | CallError | CallResultError | Send]:
        """The codec of `version` (the run's own for 1.6; 2.x compiled once per process on first use)."""
        if version == "1.6":
            return self.codec
        return load_codec(version)

    def elapsed(self) -> float:
        return self.loop.time() - self.t0


def _ignore(charger: SimCharger) -> None:
    return None


def _ignore_failure(charger: SimCharger, exc: BaseException) -> None:
    return None
