"""A simulated EV on a simulated gun: plug-in, the ISO 15118 stages up to PowerDelivery (waiting
for the host's authorisation on the way), a current demand that ramps up to what the EV and the
EVSE allow, the energy it takes, and the end of the session when it has what it wanted.

The PLC simulator reads `cp_state`, the stage flags and the targets from it, and tells it whether
authorisation was granted and whether the relay is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from voltyard.can.frames import CpState


class Stage(IntEnum):
    UNPLUGGED = 0
    SLAC = 1
    SESSION_SETUP = 2
    AUTHORIZATION = 3
    PARAM_DISCOVERY = 4
    CABLE_CHECK = 5
    PRECHARGE = 6
    POWER_DELIVERY = 7
    CURRENT_DEMAND = 8
    SESSION_STOP = 9


@dataclass(frozen=True, slots=True)
class EvProfile:
    """What the EV is like and wants; stage times are short so tests run fast."""

    battery_v: float = 400.0
    max_current_a: float = 200.0
    max_power_kw: float = 80.0
    max_voltage_v: float = 500.0
    ramp_a_per_s: float = 400.0
    wanted_kwh: float = 1e9  # charges until stopped by default
    stage_s: float = 0.05
    mac: bytes = b"\x02\x00\x5e\x10\x00\x01"
    evccid: bytes = b"\x02\x00\x5e\x10\x00\x01"
    emaid: bytes = b"DEVOLT0000001X"
    hlc: bool = True


class SimulatedEv:
    def __init__(self, profile: EvProfile) -> None:
        self.profile = profile
        self.stage = Stage.UNPLUGGED
        self._stage_t = 0.0
        self.current_a = 0.0
        self.energy_kwh = 0.0
        self.soc_pct = 30
        self.complete = False

    @property
    def plugged(self) -> bool:
        return self.stage != Stage.UNPLUGGED

    @property
    def cp_state(self) -> CpState:
        if self.stage == Stage.UNPLUGGED:
            return CpState.A
        # CP C from PowerDelivery on: the EV asks for energy.
        return CpState.C if Stage.POWER_DELIVERY <= self.stage <= Stage.CURRENT_DEMAND else CpState.B

    @property
    def wanted_a(self) -> float:
        """What the EV asks for in current demand: its own limits, not what the EVSE offers (an
        EV asking only for what it gets would never be given more when the site has more)."""
        p = self.profile
        return min(p.max_current_a, p.max_power_kw * 1000 / p.battery_v)

    @property
    def target_current_a(self) -> float:
        return self.wanted_a if self.stage == Stage.CURRENT_DEMAND else 0.0

    def plug(self, profile: EvProfile | None = None) -> None:
        if profile is not None:
            self.profile = profile
        self.stage, self._stage_t = Stage.SLAC, 0.0
        self.current_a, self.energy_kwh, self.complete = 0.0, 0.0, False

    def unplug(self) -> None:
        self.stage, self.current_a = Stage.UNPLUGGED, 0.0

    def stop(self) -> None:
        """The EV ends the session (the driver sees HLC SessionStop)."""
        if self.plugged:
            self.stage, self.current_a = Stage.SESSION_STOP, 0.0

    def step(self, dt: float, auth_granted: bool, relay_closed: bool, limit_a: float) -> None:
        """Advance by `dt` seconds; `limit_a` is what the EVSE offers."""
        if self.stage in (Stage.UNPLUGGED, Stage.SESSION_STOP):
            return
        self._stage_t += dt
        if self.stage == Stage.CURRENT_DEMAND:
            self._demand(dt, relay_closed, limit_a)
            return
        if self._stage_t < self.profile.stage_s:
            return
        if self.stage == Stage.AUTHORIZATION and not auth_granted:
            return
        if self.stage == Stage.POWER_DELIVERY and not relay_closed:
            return
        self.stage, self._stage_t = Stage(self.stage + 1), 0.0
        if self.stage == Stage.CURRENT_DEMAND:
            self._demand(dt, relay_closed, limit_a)  # the first demand is never 0 A

    def _demand(self, dt: float, relay_closed: bool, limit_a: float) -> None:
        p = self.profile
        cap = min(self.wanted_a, limit_a)
        if relay_closed:
            self.current_a = min(cap, self.current_a + p.ramp_a_per_s * dt)
            self.energy_kwh += p.battery_v * self.current_a * dt / 3.6e6
        else:
            self.current_a = 0.0
        if self.energy_kwh >= p.wanted_kwh:
            self.complete = True
            self.stop()
