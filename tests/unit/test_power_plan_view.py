"""The plan and the ring as JSON for the API, the PlanComputed event and the TUI."""

from __future__ import annotations

import json

from voltyard._native import plan
from voltyard.power.cabinet import GunState, ModuleState, SessionState, SlotState
from voltyard.power.cabinet_power import DEFAULT_SETTINGS
from voltyard.power.plan_view import plan_to_dict, slots_to_list
from voltyard.power.snapshot import PlannerSnapshot


def test_plan_to_dict_has_what_the_ring_view_draws() -> None:
    snapshot = PlannerSnapshot(
        slots=(SlotState(home_gun=0), SlotState(home_gun=1)),
        guns=(
            GunState(150, 1000, 500, SessionState.CHARGING, target_voltage_v=400, target_current_a=100),
            GunState(150, 1000, 500),
        ),
        cabinet_share_kw=25,
        settings=DEFAULT_SETTINGS,
    )
    data = json.loads(json.dumps(plan_to_dict(plan(snapshot))))
    assert data["guns"][0] == {
        "demand_kw": 40.0,
        "budget_kw": 25.0,
        "island": [0],
        "modules_on": [[0, 0]],
        "limit": "grid",
    }
    assert data["guns"][1]["island"] == []
    assert data["slots"][0] == {"gc": True, "mc": False, "cw": False, "ccw": False, "mn": [True, False]}
    assert [step["kind"] for step in data["sequence"]] == ["ramp_down", "close", "ramp_up"]
    assert [0, "gc", None] in data["sequence"][1]["contactors"]
    assert data["total_budget_kw"] == 25.0


def test_slots_to_list() -> None:
    slots = (
        SlotState(home_gun=None, modules=(ModuleState(temperature_c=40.5, mn_closed=True),), mc_closed=True),
    )
    assert slots_to_list(slots) == [
        {
            "index": 0,
            "home_gun": None,
            "gc_closed": False,
            "mc_closed": True,
            "cw_closed": False,
            "ccw_closed": False,
            "modules": [{"healthy": True, "tripped": False, "temperature_c": 40.5, "mn_closed": True}],
        }
    ]
