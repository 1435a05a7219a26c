"""The planner's output and the ring it read, as JSON-ready dicts for the API's /cabinet, the
PlanComputed event and the TUI's ring view (field names as in docs/planner.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voltyard._native import Plan
from voltyard.power.cabinet import SlotState


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """Per gun its demand, budget, island, modules on and limit; per slot its contactor targets;
    the switching steps still to do (empty once the feedback matches the targets)."""
    guns = plan.guns  # each read of a Plan field builds it anew: read once
    return {
        "guns": [
            {
                "demand_kw": round(g.demand_kw, 2),
                "budget_kw": round(g.budget_kw, 2),
                "island": list(g.island),
                "modules_on": [list(m) for m in g.modules_on],
                "limit": g.limit,
            }
            for g in guns
        ],
        "slots": [{"gc": t.gc, "mc": t.mc, "cw": t.cw, "ccw": t.ccw, "mn": list(t.mn)} for t in plan.slots],
        "sequence": [
            {
                "kind": step.kind,
                "guns": list(step.guns),
                "modules": [list(m) for m in step.modules],
                "contactors": [list(c) for c in step.contactors],
            }
            for step in plan.sequence
        ],
        "total_budget_kw": round(sum(g.budget_kw for g in guns), 2),
    }


def slots_to_list(slots: Sequence[SlotState]) -> list[dict[str, Any]]:
    """The ring as read: home gun, contactor feedback and modules per slot."""
    return [
        {
            "index": index,
            "home_gun": slot.home_gun,
            "gc_closed": slot.gc_closed,
            "mc_closed": slot.mc_closed,
            "cw_closed": slot.cw_closed,
            "ccw_closed": slot.ccw_closed,
            "modules": [
                {
                    "healthy": m.healthy,
                    "tripped": m.tripped,
                    "temperature_c": m.temperature_c,
                    "mn_closed": m.mn_closed,
                }
                for m in slot.modules
            ],
        }
        for index, slot in enumerate(slots)
    ]
