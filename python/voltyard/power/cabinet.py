"""The DC cabinet's live state: the ring's slots, their power modules and the guns, as the CAN
drivers last reported them.

The states are frozen dataclasses, replaced (never mutated) when a frame changes them, so that the
planner tick reads a consistent picture through `CabinetState`. Their field names are the ones
`voltyard._native.plan` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class SessionState(StrEnum):
    """What a gun's session is doing, as far as power is concerned."""

    IDLE = "idle"
    """No EV, or an EV without a session."""
    PREPARING = "preparing"
    """Cable check and pre-charge: the gun needs its island, at little power."""
    CHARGING = "charging"
    SUSPENDED = "suspended"
    """The EV paused; its island is kept so that it can resume at once."""
    FINISHING = "finishing"
    """The session is ending; its island is given up."""


@dataclass(frozen=True, slots=True)
class ModuleState:
    """One power module and the feedback state of its MN contactor."""

    healthy: bool = True
    tripped: bool = False
    """Tripped by its own protection; unusable until reset."""
    temperature_c: float = 25.0
    mn_closed: bool = False


@dataclass(frozen=True, slots=True)
class SlotState:
    """One slot of the ring: its home gun (index into the guns, None for a slot that only lends
    its modules), its modules and the feedback state of its contactors.

    The bridge between slot i and slot i+1 (clockwise) is slot i's CW and slot i+1's CCW contactor.
    """

    home_gun: int | None
    modules: tuple[ModuleState, ...] = (ModuleState(), ModuleState())
    gc_closed: bool = False
    mc_closed: bool = False
    cw_closed: bool = False
    ccw_closed: bool = False


@dataclass(frozen=True, slots=True)
class GunState:
    """One gun: its own limits, its session, what its EV asks for, and its health."""

    max_power_kw: float
    max_voltage_v: float
    max_current_a: float
    session: SessionState = SessionState.IDLE
    target_voltage_v: float = 0.0
    """The EV's target voltage (ISO 15118 / DIN EVTargetVoltage)."""
    target_current_a: float = 0.0
    safety_ok: bool = True
    comm_ok: bool = True
    connector_temperature_c: float = 25.0


class CabinetState(Protocol):
    """The live cabinet as the drivers keep it: what the planner tick reads every 100 ms."""

    @property
    def slots(self) -> Sequence[SlotState]: ...

    @property
    def guns(self) -> Sequence[GunState]: ...
