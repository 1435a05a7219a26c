"""A connector with its electricity: the EV's demand, the power it draws under the limits, the energy meter.

Power is what the EV asks for, capped by the connector's rating and by the charging profiles in force;
energy integrates it over the loop's monotonic clock. MeterValues report exactly these figures, so a
limit set by SetChargingProfile shows in the next sample.
"""

from __future__ import annotations

import random
from typing import Any

from voltyard.ocpp.timefmt import utc_now
from voltyard.sim.evse import CHARGING, Evse

__all__ = ["CONNECTOR_MAX_W", "Connector", "sampled_values"]

CONNECTOR_MAX_W = 22_000.0  # a 32 A three-phase AC connector
DEFAULT_MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import")
_VOLTS = 230.0  # phase voltage of the simulated supply
# Meter noise changes reported figures only, never what a charger does, so one generator serves all.
_NOISE = random.Random(0x4015E)


class Connector(Evse):
    """One connector: the EVSE state machine plus its meter."""

    __slots__ = (
        "ev_max_w",
        "max_w",
        "measurands",
        "meter_wh",
        "noise",
        "pending_tag",
        "phases",
        "power_w",
        "remote_start_id",
        "sampled_at",
        "session_epoch",
    )

    def __init__(
        self,
        connector_id: int,
        ev_max_w: float,
        max_w: float = CONNECTOR_MAX_W,
        *,
        phases: int = 3,
        measurands: tuple[str, ...] = DEFAULT_MEASURANDS,
        noise: float = 0.0,
    ) -> None:
        super().__init__(connector_id)
        self.ev_max_w = ev_max_w
        self.max_w = max_w  # the connector's rating (a station template's max_kw)
        self.phases = phases
        self.measurands = measurands
        self.noise = noise  # relative noise on the reported power and current
        self.meter_wh = 0.0
        self.power_w = 0.0
        self.sampled_at = 0.0  # loop time of the last integration
        self.session_epoch: float | None = None  # wall time the session began (Relative profiles)
        self.pending_tag: str | None = None  # an Authorize in flight for this connector
        self.remote_start_id: int | None = None  # 2.x: the RequestStartTransaction that Authorize serves

    def integrate(self, now: float) -> None:
        """Add the energy drawn since the last integration at the power that was in force."""
        if self.power_w > 0.0 and self.sampled_at:
            self.meter_wh += self.power_w * (now - self.sampled_at) / 3600.0
        self.sampled_at = now

    def draw(self) -> float:
        """The power drawn with the current facts (call `integrate` first when it may change)."""
        if self.status != CHARGING:
            self.power_w = 0.0
        else:
            limit = self.limit_w
            power = min(self.ev_max_w, self.max_w)
            self.power_w = power if limit is None else min(power, limit)
        return self.power_w


def sampled_values(connector: Connector, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    """One meterValue element with the connector's measurands (by default the energy register and the
    active power), as OCPP 1.6 spells them."""
    power = connector.power_w
    if connector.noise and power > 0.0:
        power *= 1.0 + _NOISE.uniform(-connector.noise, connector.noise)
    values = []
    for measurand in connector.measurands:
        if measurand == "Energy.Active.Import.Register":
            value, unit = f"{connector.meter_wh:.1f}", "Wh"
        elif measurand == "Power.Active.Import":
            value, unit = f"{power:.1f}", "W"
        elif measurand == "Current.Import":
            value, unit = f"{power / (_VOLTS * connector.phases):.2f}", "A"
        else:  # Voltage
            value, unit = f"{_VOLTS:.1f}", "V"
        values.append({"value": value, "context": context, "measurand": measurand, "unit": unit})
    return [{"timestamp": utc_now(), "sampledValue": values}]
