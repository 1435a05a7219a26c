"""Load generation on top of a scenario: closed-loop (a fixed number of calls in flight) or fixed-rate.

Fixed-rate (open-loop) issues calls on a 10 ms schedule whatever the answers do, so a slow central
system shows as growing latency instead of slowing the generator down (no coordinated omission): a
call's latency counts from when it was due, including any wait behind the charger's previous call.
Closed-loop keeps `concurrency` chargers each with one load call in flight, sending the next as soon as
the previous is answered: it measures the throughput the central system sustains.

Load calls are the server's everyday traffic: Heartbeat, StatusNotification and MeterValues, in the
proportions of `mix`, chosen in a seeded, fixed order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from voltyard.errors import ConfigError
from voltyard.ocpp.timefmt import utc_now
from voltyard.sim import v2_messages
from voltyard.sim.charger import SimCharger
from voltyard.sim.fleet import Fleet
from voltyard.sim.meter import sampled_values

__all__ = ["LOAD_ACTIONS", "LoadConfig", "LoadGenerator", "parse_mix"]

LOAD_ACTIONS = ("Heartbeat", "StatusNotification", "MeterValues")
_TICK_S = 0.01


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """`mode` "rate": `rate` calls per second; "closed": `concurrency` calls always in flight."""

    mode: Literal["rate", "closed"]
    rate: float = 1000.0
    concurrency: int = 100
    mix: Mapping[str, int] = field(
        default_factory=lambda: {"Heartbeat": 1, "StatusNotification": 1, "MeterValues": 2}
    )

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "rate": self.rate, "concurrency": self.concurrency, "mix": dict(self.mix)}


def parse_mix(text: str) -> dict[str, int]:
    """`Heartbeat=1,MeterValues=2` -> weights; raises ConfigError naming the bad part."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        action, _, weight = part.partition("=")
        if action not in LOAD_ACTIONS:
            raise ConfigError(f"--mix {part!r}: action must be one of {', '.join(LOAD_ACTIONS)}")
        try:
            mix[action] = int(weight or "1")
        except ValueError:
            raise ConfigError(f"--mix {part!r}: weight must be an integer") from None
        if mix[action] < 0:
            raise ConfigError(f"--mix {part!r}: weight must not be negative")
    if not any(mix.values()):
        raise ConfigError(f"--mix {text!r}: at least one action needs a positive weight")
    return mix


class LoadGenerator:
    """Drives a fleet's chargers with load calls; see the module docstring."""

    def __init__(self, fleet: Fleet, config: LoadConfig, seed: int) -> None:
        self.fleet = fleet
        self.config = config
        self._rng = random.Random(seed ^ 0x10AD)
        self._deck = [action for action, weight in config.mix.items() for _ in range(weight)]
        self._next = 0  # round-robin position over the fleet
        self._started = 0.0
        self._issued = 0
        self._handle: Any = None
        self.running = False

    def start(self) -> None:
        ctx = self.fleet.ctx
        self.running = True
        self._started = ctx.loop.time()
        if self.config.mode == "rate":
            self._handle = ctx.loop.call_later(_TICK_S, self._tick)
        else:
            ctx.on_load_answered = self._again
            for _ in range(self.config.concurrency):
                self._issue()

    def stop(self) -> None:
        self.running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        loop = self.fleet.ctx.loop
        self._handle = loop.call_later(_TICK_S, self._tick)
        due = int((loop.time() - self._started) * self.config.rate)
        while self._issued < due:
            if not self._issue():
                self._issued = due  # nobody online: skip, do not burst later
                break

    def _again(self, charger: SimCharger) -> None:
        if self.running:
            self._issue()

    def _issue(self) -> bool:
        chargers = self.fleet.chargers
        for _ in range(len(chargers)):
            charger = chargers[self._next]
            self._next = (self._next + 1) % len(chargers)
            if charger.link is not None and charger.booted:
                action = self._rng.choice(self._deck)
                charger.call(action, _payload(charger, action), load=True)
                self._issued += 1
                return True
        return False


def _payload(charger: SimCharger, action: str) -> dict[str, Any]:
    connector = charger.connectors[0]
    if action == "Heartbeat":
        return {}
    if charger.v2:
        if action == "StatusNotification":
            return v2_messages.status_notification(connector)
        return v2_messages.meter_values(connector)
    if action == "StatusNotification":
        return {
            "connectorId": connector.connector_id,
            "errorCode": connector.error_code,
            "status": connector.status,
            "timestamp": utc_now(),
        }
    payload: dict[str, Any] = {"connectorId": connector.connector_id, "meterValue": sampled_values(connector)}
    session = connector.session
    if session is not None and session.transaction_id is not None:
        payload["transactionId"] = session.transaction_id
    return payload
