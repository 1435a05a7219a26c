"""What the planner reads at one tick: the cabinet's live state, the cabinet's share of the site
limit and the planner's settings, as frozen dataclasses shaped the way `voltyard._native.plan`
reads them (by attribute).

The snapshot also has a JSON form, the one of the golden scenarios in tests/fixtures/planner and
of the core's `Snapshot` (same field names, defaulted fields may be left out), for fixtures,
benchmarks and replaying a recorded tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from voltyard.power.cabinet import GunState, ModuleState, SessionState, SlotState

if TYPE_CHECKING:
    from voltyard._native import Plan


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


def snapshot_from_json(data: Mapping[str, Any]) -> PlannerSnapshot:
    """The snapshot of its JSON form (a parsed tests/fixtures/planner `snapshot`)."""
    settings = data["settings"]
    return PlannerSnapshot(
        slots=tuple(
            SlotState(
                **{key: value for key, value in slot.items() if key != "modules"},
                modules=tuple(ModuleState(**module) for module in slot["modules"]),
            )
            for slot in data["slots"]
        ),
        guns=tuple(
            GunState(**{**gun, "session": SessionState(gun.get("session", SessionState.IDLE))})
            for gun in data["guns"]
        ),
        cabinet_share_kw=data["cabinet_share_kw"],
        settings=PlannerSettings(
            module_rating_kw=settings["module_rating_kw"],
            connector_derating=Derating(**settings["connector_derating"]),
            module_derating=Derating(**settings["module_derating"]),
            min_gain_kw=settings["min_gain_kw"],
        ),
    )


def settled(snapshot: PlannerSnapshot, plan: Plan) -> PlannerSnapshot:
    """The snapshot with its contactor feedback at the plan's targets, as a finished switching
    sequence leaves it: the next tick of a cabinet that follows its plans."""
    slots = tuple(
        replace(
            slot,
            gc_closed=targets.gc,
            mc_closed=targets.mc,
            cw_closed=targets.cw,
            ccw_closed=targets.ccw,
            modules=tuple(replace(m, mn_closed=on) for m, on in zip(slot.modules, targets.mn, strict=True)),
        )
        for slot, targets in zip(snapshot.slots, plan.slots, strict=True)
    )
    return replace(snapshot, slots=slots)
