"""A connector with its electricity: the EV's demand, the power it draws under the limits, the energy meter.

Power is what the EV asks for, capped by the connector's rating and by the charging profiles in force;
energy integrates it over the loop's monotonic clock. MeterValues report exactly these figures, so a
limit set by SetChargingProfile shows in the next sample.
"""

from __future__ import annotations

from typing import Any

from voltyard.ocpp.timefmt import utc_now
from voltyard.sim.evse import CHARGING, Evse

__all__ = ["CONNECTOR_MAX_W", "Connector", "sampled_values"]

CONNECTOR_MAX_W = 22_000.0  # a 32 A three-phase AC connector


class Connector(Evse):
    """One connector: the EVSE state machine plus its meter."""

    __slots__ = ("ev_max_w", "meter_wh", "pending_tag", "power_w", "sampled_at", "session_epoch")

    def __init__(self, connector_id: int, ev_max_w: float) -> None:
        super().__init__(connector_id)
        self.ev_max_w = ev_max_w
        self.meter_wh = 0.0
        self.power_w = 0.0
        self.sampled_at = 0.0  # loop time of the last integration
        self.session_epoch: float | None = None  # wall time the session began (Relative profiles)
        self.pending_tag: str | None = None  # an Authorize in flight for this connector

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
            power = min(self.ev_max_w, CONNECTOR_MAX_W)
            self.power_w = power if limit is None else min(power, limit)
        return self.power_w


def sampled_values(connector: Connector, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    """One meterValue element: the energy register and the active power, as OCPP 1.6 spells them."""
    return [
        {
            "timestamp": utc_now(),
            "sampledValue": [
                {
                    "value": f"{connector.meter_wh:.1f}",
                    "context": context,
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                },
                {
                    "value": f"{connector.power_w:.1f}",
                    "context": context,
                    "measurand": "Power.Active.Import",
                    "unit": "W",
                },
            ],
        }
    ]
