"""What the planner reads at one tick: the cabinet's live state, the cabinet's share of the site
limit and the planner's settings, as frozen dataclasses shaped the way `voltyard._native.plan`
reads them (by attribute)."""

from __future__ import annotations

from dataclasses import dataclass

from voltyard.power.cabinet import GunState, SlotState


@dataclass(frozen=True, slots=True)
class Derating:
    """Linear derating: full power up to `start_c`, none from `trip_c` on (`start_c < trip_c`)."""

    start_c: float
    trip_c: float


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """The planner's configuration, fixed for a site.

    Attributes:
        module_rating_kw: Output of one healthy, cool module.
        connector_derating: Derating by connector temperature.
        module_derating: Derating by module temperature.
        min_gain_kw: Hysteresis: an island change, which interrupts the guns it touches, is made
            only when it brings a gun at least this much more power.
    """

    module_rating_kw: float
    connector_derating: Derating
    module_derating: Derating
    min_gain_kw: float


@dataclass(frozen=True, slots=True)
class PlannerSnapshot:
    """Everything the planner knows at one tick."""

    slots: tuple[SlotState, ...]
    guns: tuple[GunState, ...]
    cabinet_share_kw: float
    """The cabinet's share of the site limit, as the power manager last set it."""
    settings: PlannerSettings
