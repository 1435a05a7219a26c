"""The plan executor against fake PLC drivers, with plans from the real planner: contactors switch
in the sequence's order, nothing switches before the guns and modules concerned are ramped down (on
a meter reading taken after the ramp began), guns stay at zero until their contactors are closed,
a gun whose new modules are not on yet does not rise, and everything else runs at its budget."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from voltyard._native import Plan, plan
from voltyard.can.config import GunConfig
from voltyard.can.frames import MeterInstant, RelayStatus
from voltyard.can.gcmc import SlotCommand
from voltyard.power.cabinet import GunState, SessionState, SlotState
from voltyard.power.cabinet_power import DEFAULT_SETTINGS
from voltyard.power.executor import PlanExecutor
from voltyard.power.snapshot import PlannerSnapshot, settled


@dataclass
class FakeDriver:
    gun: GunConfig
    instant: MeterInstant | None = None
    instant_received_at: float | None = None
    relay_status: RelayStatus | None = None
    commands: list[SlotCommand] = field(default_factory=list)

    def command_gcmc(self, command: SlotCommand) -> None:
        self.commands.append(command)

    def meter(self, kw: float, at: float) -> None:
        self.instant = MeterInstant(
            self.gun.plc_id, meter_ok=True, voltage_0p1v=4000, active_power_0p01kw=round(kw * 100)
        )
        self.instant_received_at = at

    def relay(self, closed: bool) -> None:
        self.relay_status = RelayStatus(self.gun.plc_id, rly1_state=closed, rly1_fb=closed)

    @property
    def last(self) -> SlotCommand:
        return self.commands[-1]


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def gun(session: str = "charging", amps: float = 200.0) -> GunState:
    # 400 V x 200 A: the EV asks for 80 kW, more than its home slot's two 30 kW modules.
    return GunState(
        max_power_kw=150,
        max_voltage_v=1000,
        max_current_a=500,
        session=SessionState(session),
        target_voltage_v=400,
        target_current_a=amps,
    )


def snapshot(guns: list[GunState], share: float) -> PlannerSnapshot:
    return PlannerSnapshot(
        slots=tuple(SlotState(home_gun=i) for i in range(len(guns))),
        guns=tuple(guns),
        cabinet_share_kw=share,
        settings=DEFAULT_SETTINGS,
    )


@pytest.fixture
def cabinet() -> tuple[PlanExecutor, list[FakeDriver], Clock]:
    drivers = [FakeDriver(GunConfig(connector_id=i + 1, plc_id=i, max_current_a=300)) for i in range(2)]
    clock = Clock()
    return PlanExecutor(drivers, clock, tolerance_kw=0.5), drivers, clock


def kinds(result: Plan) -> list[str]:
    return [step.kind for step in result.sequence]


def test_closing_waits_for_the_gun_to_be_at_zero_and_it_ramps_up_only_once_closed(cabinet) -> None:
    executor, (d0, d1), clock = cabinet
    first = snapshot([gun(), gun("idle")], share=200)
    opening = plan(first)
    assert kinds(opening) == ["ramp_down", "close", "ramp_up"]
    assert opening.guns[0].island == (0, 1)

    # Nothing known of gun 0's relay or meter: it may be carrying load, so nothing closes.
    executor.apply(opening)
    assert executor.waiting == "ramp_down"
    assert d0.last == SlotCommand(current_a=300)
    assert d1.last == SlotCommand(current_a=300)

    # Its relay is open: nothing can flow, the contactors close, the gun stays at 0 kW.
    d0.relay(closed=False)
    clock.now += 0.1
    executor.apply(opening)
    assert executor.waiting == "close"
    assert d0.last == SlotCommand(gc=True, mc=True, cw=True, mn=(True, True), power_kw=0.0, current_a=300)
    assert d1.last == SlotCommand(mc=True, ccw=True, mn=(True, False), power_kw=0.0, current_a=300)

    # The feedback matches: the gun gets its budget.
    closed = plan(settled(first, opening), opening)
    assert kinds(closed) == []
    clock.now += 0.1
    executor.apply(closed)
    assert executor.waiting is None
    assert d0.last.power_kw == pytest.approx(80.0)
    assert d0.last.gc
    assert d1.last.mc
    assert executor.setpoints_kw == pytest.approx([80.0, 0.0])


def charging_at(share: float) -> tuple[PlannerSnapshot, Plan]:
    """Gun 0 charging on its island of slots 0 and 1, contactors settled."""
    first = snapshot([gun(), gun("idle")], share=share)
    done = plan(first)
    steady = settled(first, done)
    return steady, plan(steady, done)


def test_a_budget_cut_is_applied_at_once_and_the_module_opens_once_the_meter_shows_it(cabinet) -> None:
    executor, (d0, d1), clock = cabinet
    steady, previous = charging_at(200)
    executor.apply(previous)
    d0.relay(closed=True)
    d0.meter(80.0, at=clock.now)

    cut = plan(replace(steady, cabinet_share_kw=40), previous)
    assert kinds(cut) == ["ramp_down", "open"]
    assert cut.sequence[0].modules == ((1, 0),)
    clock.now += 0.1
    executor.apply(cut)
    assert executor.waiting == "ramp_down"
    assert d0.last.power_kw == pytest.approx(40.0)  # the gun is not interrupted, only lowered
    assert d1.last.mn == (True, False)  # the module still carries load: its MN stays closed

    # A reading older than the cut, however low, says nothing about now.
    d0.meter(30.0, at=clock.now - 0.05)
    clock.now += 0.1
    executor.apply(cut)
    assert d1.last.mn == (True, False)
    # A fresh reading still above the budget (beyond the tolerance): still waiting.
    d0.meter(55.0, at=clock.now)
    clock.now += 0.1
    executor.apply(cut)
    assert d1.last.mn == (True, False)
    # At the budget: the module opens.
    d0.meter(40.4, at=clock.now)
    clock.now += 0.1
    executor.apply(cut)
    assert executor.waiting == "open"
    assert d1.last.mn == (False, False)
    assert d0.last.power_kw == pytest.approx(40.0)


def test_a_gun_that_ends_is_brought_to_zero_before_its_island_opens(cabinet) -> None:
    executor, (d0, d1), clock = cabinet
    steady, previous = charging_at(200)
    executor.apply(previous)
    d0.relay(closed=True)
    d0.meter(80.0, at=clock.now)

    ending = plan(replace(steady, guns=(gun("finishing"), gun("idle"))), previous)
    assert kinds(ending) == ["ramp_down", "open"]
    clock.now += 0.1
    executor.apply(ending)
    assert executor.waiting == "ramp_down"
    assert d0.last.power_kw == 0.0
    assert d0.last.gc
    assert d0.last.mc
    assert d0.last.cw
    assert d1.last.ccw
    clock.now += 0.05
    d0.meter(0.3, at=clock.now)
    clock.now += 0.05
    executor.apply(ending)
    assert executor.waiting == "open"
    assert d0.last == SlotCommand(current_a=300)
    assert d1.last == SlotCommand(current_a=300)


def test_a_gun_does_not_rise_before_its_new_module_is_on(cabinet) -> None:
    executor, (d0, d1), clock = cabinet
    # Cut from 200 to 40 kW and settled: the island keeps both slots, one of its modules is off.
    steady, previous = charging_at(200)
    cut = plan(replace(steady, cabinet_share_kw=40), previous)
    steady = settled(replace(steady, cabinet_share_kw=40), cut)
    previous = plan(steady, cut)
    executor.apply(previous)
    assert d0.last.power_kw == pytest.approx(40.0)
    assert d1.last.mn == (False, False)

    raised = plan(replace(steady, cabinet_share_kw=80), previous)
    assert kinds(raised) == ["close", "ramp_up"]
    clock.now += 0.1
    executor.apply(raised)
    assert executor.waiting == "close"
    assert d1.last.mn == (True, False)
    assert d0.last.power_kw == pytest.approx(40.0)  # two modules on: no more yet

    on = plan(settled(replace(steady, cabinet_share_kw=80), raised), raised)
    clock.now += 0.1
    executor.apply(on)
    assert d0.last.power_kw == pytest.approx(80.0)


def test_a_plan_for_another_ring_is_refused(cabinet) -> None:
    executor, _drivers, _clock = cabinet
    three = snapshot([gun(), gun("idle"), gun("idle")], share=100)
    with pytest.raises(ValueError, match="3 slots"):
        executor.apply(plan(three))
