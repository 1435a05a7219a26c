"""The planner through voltyard._native: the golden scenarios of tests/fixtures/planner (shared
with crates/voltyard-core/tests/planner_golden.rs, see the README there), snapshot errors naming
their field, and the binding's conversions both ways."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voltyard._native import Plan, plan
from voltyard.errors import PlannerError, VoltyardError
from voltyard.power.cabinet import SessionState, SlotState
from voltyard.power.snapshot import PlannerSnapshot, settled
from voltyard.power.snapshot import snapshot_from_json as snapshot_of

PLANNER = Path(__file__).parent.parent / "fixtures" / "planner"
SCENARIOS = sorted(p for p in PLANNER.glob("*.json") if p.name != "invalid.json")


def changed(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with each JSON pointer set to its value (the last key may be new)."""
    data = copy.deepcopy(data)
    for pointer, value in changes.items():
        *parents, last = pointer.lstrip("/").split("/")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return data


def run(scenario: dict[str, Any]) -> Plan:
    first = plan(snapshot_of(scenario["snapshot"]))
    if "then" not in scenario:
        return first
    following = snapshot_of(changed(scenario["snapshot"], scenario["then"]))
    return plan(settled(following, first), first)


def contactor_name(contactor: tuple[int, str, int | None]) -> str:
    slot, kind, module = contactor
    return f"{slot}:{kind}{'' if module is None else module}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_golden_scenario(path: Path) -> None:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    expect = scenario["expect"]
    result = run(scenario)
    guns = result.guns
    if "total_budget_kw" in expect:
        assert sum(g.budget_kw for g in guns) == pytest.approx(expect["total_budget_kw"], abs=1e-6)
    for index, e in expect.get("guns", {}).items():
        gun = guns[int(index)]
        if "budget_kw" in e:
            assert gun.budget_kw == pytest.approx(e["budget_kw"], abs=1e-6), index
        if "limit" in e:
            assert gun.limit == e["limit"], index
        if "island" in e:
            assert gun.island == tuple(e["island"] or ()), index
        if "modules_on" in e:
            assert len(gun.modules_on) == e["modules_on"], index
    steps = {step.kind: step for step in result.sequence}
    if "sequence" in expect:
        assert [step.kind for step in result.sequence] == expect["sequence"]
    if "ramp_down_guns" in expect:
        assert list(steps["ramp_down"].guns if "ramp_down" in steps else ()) == expect["ramp_down_guns"]
    if "ramp_down_modules" in expect:
        modules = [f"{s}:{i}" for s, i in steps["ramp_down"].modules]
        assert modules == expect["ramp_down_modules"]
    for kind in ("open", "close"):
        if kind in expect:
            assert [contactor_name(c) for c in steps[kind].contactors] == expect[kind]


def test_there_are_golden_scenarios() -> None:
    assert len(SCENARIOS) >= 9


INVALID = json.loads((PLANNER / "invalid.json").read_text(encoding="utf-8"))
BASE = json.loads((PLANNER / f"{INVALID['base']}.json").read_text(encoding="utf-8"))["snapshot"]


@pytest.mark.parametrize("case", INVALID["cases"], ids=lambda c: c["name"])
def test_refused_snapshot_names_its_field(case: dict[str, Any]) -> None:
    with pytest.raises(PlannerError) as caught:
        plan(snapshot_of(changed(BASE, case["set"])))
    assert caught.value.field == case["field"]
    assert str(caught.value).startswith(f"{case['field']}: ")
    assert isinstance(caught.value, VoltyardError)
    assert isinstance(caught.value, ValueError)


def base() -> PlannerSnapshot:
    return snapshot_of(BASE)


def with_gun(snapshot: PlannerSnapshot, index: int, **fields: Any) -> PlannerSnapshot:
    guns = list(snapshot.guns)
    guns[index] = replace(guns[index], **fields)
    return replace(snapshot, guns=tuple(guns))


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(
        PlannerError, match=r"^guns\[4\]\.connector_temperature_c: must be a finite number, got NaN$"
    ):
        plan(with_gun(base(), 4, connector_temperature_c=math.nan))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"session": "parked"}, "guns[2].session"),
        ({"session": 3}, "guns[2].session"),
        ({"max_power_kw": "150"}, "guns[2].max_power_kw"),
        ({"safety_ok": 1}, "guns[2].safety_ok"),
    ],
)
def test_attributes_of_the_wrong_type_name_their_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(PlannerError) as caught:
        plan(with_gun(base(), 2, **fields))
    assert caught.value.field == field


def test_missing_attributes_name_their_field() -> None:
    snapshot = base()
    slots = list(snapshot.slots)
    slots[6] = SimpleNamespace(
        home_gun=6, gc_closed=False, mc_closed=False, cw_closed=False, ccw_closed=False
    )
    with pytest.raises(PlannerError) as caught:
        plan(replace(snapshot, slots=tuple(slots)))
    assert caught.value.field == "slots[6].modules"


def test_a_previous_plan_for_another_ring_is_refused() -> None:
    small = base()
    bigger = replace(small, slots=(*small.slots, SlotState(home_gun=None)))
    with pytest.raises(PlannerError, match=r"previous\.slots: the previous plan has 13, the snapshot 12"):
        plan(small, plan(bigger))


def test_any_object_with_the_attributes_will_do() -> None:
    """The binding reads attributes, so plain namespaces (or a driver's own classes) work too."""
    module = SimpleNamespace(healthy=True, tripped=False, temperature_c=30, mn_closed=False)
    slot = SimpleNamespace(
        home_gun=0,
        modules=[module, module],
        gc_closed=False,
        mc_closed=False,
        cw_closed=False,
        ccw_closed=False,
    )
    gun = SimpleNamespace(
        session="charging",
        target_voltage_v=400,
        target_current_a=100,
        max_power_kw=150,
        max_voltage_v=1000,
        max_current_a=300,
        safety_ok=True,
        comm_ok=True,
        connector_temperature_c=30,
    )
    derating = SimpleNamespace(start_c=80, trip_c=100)
    settings = SimpleNamespace(
        module_rating_kw=30, connector_derating=derating, module_derating=derating, min_gain_kw=5
    )
    result = plan(SimpleNamespace(slots=[slot], guns=[gun], cabinet_share_kw=100, settings=settings))
    (only,) = result.guns
    assert (only.demand_kw, only.budget_kw, only.limit) == (40.0, 40.0, "demand")
    assert only.island == (0,)
    assert only.modules_on == ((0, 0), (0, 1))


def test_plan_objects_read_back_as_plain_values() -> None:
    snapshot = snapshot_of(json.loads((PLANNER / "gun_faults_mid_session.json").read_text())["snapshot"])
    result = plan(snapshot)
    assert result == plan(snapshot)
    assert result != plan(replace(snapshot, cabinet_share_kw=10.0))
    assert result != "a plan"
    assert repr(result) == "<Plan: 12 guns (4 fed, 400.0 kW), 12 slots, 3 switching steps>"
    gun = result.guns[0]
    assert repr(gun) == (
        "GunPlan(demand_kw=100.0, budget_kw=100.0, island=(0, 1), "
        "modules_on=((0, 0), (0, 1), (1, 0), (1, 1)), limit='demand')"
    )
    assert repr(result.slots[0]) == "SlotTargets(gc=True, mc=True, cw=True, ccw=False, mn=(True, True))"
    ramp_down, close, ramp_up = result.sequence
    assert (ramp_down.kind, close.kind, ramp_up.kind) == ("ramp_down", "close", "ramp_up")
    assert ramp_down.guns == (0, 3, 6, 9)
    assert ramp_down.contactors == ()
    assert close.contactors[:3] == ((0, "gc", None), (0, "mc", None), (0, "cw", None))
    assert (0, "mn", 1) in close.contactors
    assert ramp_up.modules[:2] == ((0, 0), (0, 1))
    with pytest.raises(TypeError):
        hash(result)


finite = st.floats(min_value=0, max_value=1000, allow_nan=False)


@given(
    share=finite,
    demands=st.lists(st.tuples(finite, st.booleans(), st.booleans()), min_size=12, max_size=12),
)
def test_budgets_stay_within_the_share_and_unsafe_guns_get_nothing(
    share: float, demands: list[tuple[float, bool, bool]]
) -> None:
    snapshot = replace(base(), cabinet_share_kw=share)
    for index, (amps, safe, charging) in enumerate(demands):
        session = SessionState.CHARGING if charging else SessionState.IDLE
        snapshot = with_gun(snapshot, index, target_current_a=amps, safety_ok=safe, session=session)
    guns = plan(snapshot).guns
    assert sum(g.budget_kw for g in guns) <= share + 1e-6
    for gun, (_, safe, charging) in zip(guns, demands, strict=True):
        if not safe:
            assert (gun.budget_kw, gun.limit, gun.island) == (0.0, "safety", ())
        elif not charging:
            assert (gun.budget_kw, gun.island) == (0.0, ())
