"""What a simulated charger does in a scenario, decided before the run: a timed list of steps.

A scenario turns (charger index, a seeded `random.Random`) into steps; nothing about the sequence
depends on the clock or on the central system's timing, so the same seed gives the same steps. Each
executed step is written to the run's action log, which is how two runs are compared.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["STEP_KINDS", "ActionRecord", "Step", "StepKind", "charger_rng"]

StepKind = Literal[
    "plug",  # cable in (Preparing)
    "swipe",  # present an id tag: Authorize, then StartTransaction (plugs in first if needed)
    "stop",  # the driver stops the session at the charger (reason Local)
    "unplug",  # cable out (stops a running session with EVDisconnected)
    "suspend_ev",  # the EV pauses drawing (SuspendedEV)
    "resume_ev",
    "demand",  # the EV's maximum draw changes to `kw`
    "fault",  # a fault with error code `code` (stops a running session)
    "clear_fault",
    "offline",  # the network is down for `seconds`: messages queue, transactions go on
    "drop",  # the connection drops; the charger reconnects with backoff
    "reboot",  # power cycle: sessions stop (PowerLoss), reconnect, BootNotification
    "malformed",  # send a frame that breaks its schema on purpose (expect a CALLERROR for it)
]
STEP_KINDS: Final[tuple[str, ...]] = StepKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Step:
    """One planned action at `at` seconds after the scenario starts."""

    at: float
    kind: StepKind
    connector: int = 1
    tag: str = ""
    code: str = ""
    seconds: float = 0.0
    kw: float = 0.0

    def describe(self) -> str:
        parts = [self.kind, f"c{self.connector}"]
        if self.tag:
            parts.append(f"tag={self.tag}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.seconds:
            parts.append(f"for={self.seconds:g}s")
        if self.kw:
            parts.append(f"kw={self.kw:g}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One executed step in the action log: who, when (planned), what, and the connector's status after."""

    charger: int
    at: float
    action: str
    status: str

    def line(self) -> str:
        return f"{self.charger:05d} {self.at:9.3f} {self.action} -> {self.status}"


def charger_rng(seed: int, index: int) -> random.Random:
    """The generator of one charger: derived from the run seed and the charger index, and nothing else.

    Hashing (rather than `seed + index`) keeps neighbouring seeds' chargers unrelated.
    """
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))
