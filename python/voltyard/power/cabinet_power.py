"""The cabinet's power control: the 100 ms planner tick over the live cabinet (the CAN drivers), its
plans applied through GCMC_Command, each plan published, and what the site power manager needs:
`set_cabinet_share`, the cabinet's demand and its metered power.

Start it after the `CabinetLink` (its drivers exist from `link.start()` on) and stop it before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from voltyard._native import Plan
from voltyard.can.config import RingConfig
from voltyard.can.link import CabinetLink
from voltyard.power.executor import PlanExecutor
from voltyard.power.live_cabinet import LiveCabinet
from voltyard.power.plan_view import plan_to_dict, slots_to_list
from voltyard.power.planner import PERIOD_S, PlannerTick, PlanPublished
from voltyard.power.snapshot import Derating, PlannerSettings


def planner_settings(ring: RingConfig) -> PlannerSettings:
    """The planner's settings of `[cabinet.ring]`. By default (seed 003's ring: 30 kW modules) the
    connector derates to nothing at the driver's over-temperature trip (90 degC,
    DriverTiming.over_temperature_c), so power is gone before the fault opens the gun."""
    return PlannerSettings(
        module_rating_kw=ring.module_rating_kw,
        connector_derating=Derating(start_c=ring.connector_derating_start_c, trip_c=ring.connector_trip_c),
        module_derating=Derating(start_c=ring.module_derating_start_c, trip_c=ring.module_trip_c),
        min_gain_kw=ring.min_gain_kw,
    )


DEFAULT_SETTINGS = planner_settings(RingConfig())


class CabinetPower:
    """See the module docstring.

    Args:
        link: The cabinet's CAN link (`CabinetBridge.link`).
        publish: Called with each tick's plan (the runtime makes a PlanComputed event of it).
        settings: The planner's settings; by default those of the link's `[cabinet.ring]`.
        cabinet_share_kw: The share until the site manager sets one; 0 = no power.
        period_s: The tick period.
    """

    def __init__(
        self,
        link: CabinetLink,
        publish: Callable[[Plan], None] | None = None,
        settings: PlannerSettings | None = None,
        *,
        cabinet_share_kw: float = 0.0,
        period_s: float = PERIOD_S,
    ) -> None:
        self._link = link
        self._publish = publish
        self.settings = settings if settings is not None else planner_settings(link.config.ring)
        self._share_kw = cabinet_share_kw
        self._period_s = period_s
        self.cabinet: LiveCabinet | None = None
        self.executor: PlanExecutor | None = None
        self.tick: PlannerTick | None = None
        self.last: PlanPublished | None = None

    def start(self) -> None:
        """First tick now, then every period; needs the link started."""
        if not self._link.drivers:
            raise RuntimeError("start the CabinetLink before its CabinetPower")
        loop = asyncio.get_running_loop()
        self.cabinet = LiveCabinet(
            list(self._link.drivers.values()), modules_per_slot=self._link.config.ring.modules_per_slot
        )
        self.executor = PlanExecutor(self.cabinet.drivers, loop.time)
        self.tick = PlannerTick(
            self.cabinet,
            self.executor,
            self.settings,
            loop,
            self._on_plan,
            period_s=self._period_s,
            cabinet_share_kw=self._share_kw,
        )
        self.tick.start()

    def stop(self) -> None:
        """Stops planning; the drivers keep the last commands until the link stops (and opens)."""
        if self.tick is not None:
            self.tick.stop()

    @property
    def cabinet_share_kw(self) -> float:
        return self._share_kw

    def set_cabinet_share(self, kw: float) -> None:
        """The site manager's share for the cabinet; the next tick (within 100 ms) plans with it."""
        self._share_kw = max(0.0, kw)
        if self.tick is not None:
            self.tick.set_cabinet_share(self._share_kw)

    def demand_kw(self) -> float:
        """What the guns ask for, as the last plan read it (the cabinet's claim on the site)."""
        if self.last is None:
            return 0.0
        return sum(g.demand_kw for g in self.last.plan.guns)

    def gun_demands_kw(self) -> tuple[float, ...]:
        """What each gun asks for, as the last plan read it: the guns' claims on the site, one each."""
        if self.last is None:
            return ()
        return tuple(g.demand_kw for g in self.last.plan.guns)

    def measured_kw(self) -> float:
        """The cabinet's metered power: the sum of the guns' latest EnergyMeterData (mux 0) power,
        leaving out readings the PLC flags stale."""
        total = 0.0
        for driver in self._link.drivers.values():
            instant = driver.instant
            if instant is not None and not instant.data_stale:
                total += instant.active_power_0p01kw / 100
        return total

    def view(self) -> dict[str, Any]:
        """The ring as last read and the last plan, for /cabinet (`slots`, `plan`) and the share."""
        last = self.last
        return {
            "slots": slots_to_list(last.snapshot.slots) if last is not None else [],
            "plan": plan_to_dict(last.plan) if last is not None else None,
            "cabinet_share_kw": self._share_kw,
            "measured_kw": round(self.measured_kw(), 2),
        }

    def _on_plan(self, published: PlanPublished) -> None:
        self.last = published
        if self._publish is not None:
            self._publish(published.plan)
