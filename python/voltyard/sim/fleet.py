"""N simulated chargers on one event loop: dialling in, first-connect and first-boot times, the 1 s ticker.

The ticker is the fleet's only periodic work of its own: once a second it reads how many chargers are
online, what the connectors draw in total against the limits the central system set, and the call
latencies of the last second, and appends a `TimelinePoint` (the progress line, the report and the
plot all read the timeline).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from voltyard.sim.charger import SimCharger
from voltyard.sim.context import FleetContext
from voltyard.sim.protocols import DEFAULT_PROTOCOLS, ProtocolMix, assign
from voltyard.sim.stats import TimelinePoint
from voltyard.sim.templates import StationTemplate

__all__ = ["Fleet", "FleetShape"]


@dataclass(frozen=True, slots=True)
class FleetShape:
    """How many chargers, of what kind, under which ids."""

    chargers: int
    connectors: int = 1
    id_prefix: str = "SIM"
    ev_max_kw: float = 11.0
    # A fleet file's stations in fleet order, (id prefix, template) each; when given, `chargers` is their
    # number and `connectors` the most any of them has.
    stations: tuple[tuple[str, StationTemplate], ...] = ()
    # `--protocol`: each version's share of the fleet; empty: each station's template decides (else 1.6).
    protocol: ProtocolMix = ()

    def charger_id(self, index: int) -> str:
        prefix = self.stations[index][0] if self.stations else self.id_prefix
        return f"{prefix}{index:05d}"

    def template(self, index: int) -> StationTemplate | None:
        return self.stations[index][1] if self.stations else None

    def protocols(self) -> list[tuple[str, ...]]:
        """The versions each charger offers, in fleet order (`--protocol` wins over the templates')."""
        if self.protocol:
            # One tuple per version, shared; 1.6 is the default tuple, so a forced 1.6 fleet is the old one.
            offers = {
                version: DEFAULT_PROTOCOLS if version == "1.6" else (version,) for version, _ in self.protocol
            }
            return [offers[version] for version in assign(self.protocol, self.chargers)]
        return [
            template.protocols if template is not None else DEFAULT_PROTOCOLS
            for template in map(self.template, range(self.chargers))
        ]


class Fleet:
    """The chargers of a run and what is measured about them as a group."""

    def __init__(self, ctx: FleetContext, shape: FleetShape, site_limit_kw: float | None) -> None:
        self.ctx = ctx
        self.shape = shape
        self.site_limit_kw = site_limit_kw
        protocols = shape.protocols()
        self.chargers = [
            SimCharger(
                ctx,
                index,
                shape.charger_id(index),
                shape.connectors,
                shape.ev_max_kw,
                template=shape.template(index),
                protocols=protocols[index],
            )
            for index in range(shape.chargers)
        ]
        self._by_id: dict[str, SimCharger] | None = None
        self._connected_once = bytearray(shape.chargers)
        self._booted_once = bytearray(shape.chargers)
        self.connected_once = 0
        self.booted_once = 0
        self.started_at = 0.0
        self.all_connected_at: float | None = None
        self.all_booted_at: float | None = None
        self.all_booted = asyncio.Event()
        self.timeline: list[TimelinePoint] = []
        self.on_tick: Callable[[TimelinePoint], None] | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._last_tick = 0.0
        self._last_calls = 0
        ctx.on_connected = self._connected
        ctx.on_booted = self._booted

    def start(self) -> None:
        """Every charger dials in (bounded by the context's connect slots); the ticker starts."""
        loop = self.ctx.loop
        self.started_at = self._last_tick = loop.time()
        for charger in self.chargers:
            charger.start()
        self._tick_handle = loop.call_later(1.0, self._tick)

    def stop(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        for charger in self.chargers:
            charger.shutdown()

    def find(self, charger_id: str) -> SimCharger | None:
        if self._by_id is None:
            self._by_id = {charger.charger_id: charger for charger in self.chargers}
        return self._by_id.get(charger_id)

    # --- counting --------------------------------------------------------------------------------

    def _connected(self, charger: SimCharger) -> None:
        if not self._connected_once[charger.index]:
            self._connected_once[charger.index] = 1
            self.connected_once += 1
            if self.connected_once == len(self.chargers):
                self.all_connected_at = self.ctx.loop.time() - self.started_at

    def _booted(self, charger: SimCharger) -> None:
        if not self._booted_once[charger.index]:
            self._booted_once[charger.index] = 1
            self.booted_once += 1
            if self.booted_once == len(self.chargers):
                self.all_booted_at = self.ctx.loop.time() - self.started_at
                self.all_booted.set()

    def online(self) -> int:
        return sum(1 for charger in self.chargers if charger.link is not None)

    def booted_now(self) -> int:
        return sum(1 for charger in self.chargers if charger.link is not None and charger.booted)

    def idle(self) -> bool:
        """Nothing queued or in flight anywhere (every message sent has been answered)."""
        return all(not charger.queue and charger.inflight is None for charger in self.chargers)

    def site_power(self) -> tuple[int, float, float | None]:
        """(sessions, total power kW, total of the connectors' limits kW or None when one is unlimited)."""
        sessions = 0
        power = 0.0
        limits: float | None = 0.0
        for charger in self.chargers:
            for connector in charger.connectors:
                if connector.session is None:
                    continue
                sessions += 1
                power += connector.power_w
                if connector.limit_w is None:
                    limits = None
                elif limits is not None:
                    limits += connector.limit_w
        return sessions, power / 1000.0, None if limits is None else limits / 1000.0

    # --- ticker ----------------------------------------------------------------------------------

    def _tick(self) -> None:
        loop = self.ctx.loop
        now = loop.time()
        self._tick_handle = loop.call_later(1.0, self._tick)
        self.timeline.append(self.sample(now))
        if self.on_tick is not None:
            self.on_tick(self.timeline[-1])

    def sample(self, now: float) -> TimelinePoint:
        stats = self.ctx.stats
        window = stats.take_window()
        calls = stats.counters.calls
        span = max(now - self._last_tick, 1e-6)
        rate = (calls - self._last_calls) / span
        self._last_tick, self._last_calls = now, calls
        sessions, power_kw, limits_kw = self.site_power()
        online = booted = 0
        for charger in self.chargers:
            if charger.link is not None:
                online += 1
                booted += charger.booted
        return TimelinePoint(
            t=round(now - self.started_at, 3),
            calls_per_s=round(rate, 1),
            p50_ms=round(window.percentile_ms(0.5), 3),
            p99_ms=round(window.percentile_ms(0.99), 3),
            connected=online,
            booted=booted,
            sessions=sessions,
            site_power_kw=round(power_kw, 3),
            site_limit_kw=None if limits_kw is None else round(limits_kw, 3),
        )
