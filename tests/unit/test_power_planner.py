"""The 100 ms planner tick on a fake clock: absolute deadlines, no drift, missed ticks counted and
skipped, each plan built from the live cabinet with the previous plan, applied, then published."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from voltyard._native import Plan, plan
from voltyard.power.cabinet import GunState, SlotState
from voltyard.power.planner import PlannerTick, PlanPublished
from voltyard.power.snapshot import PlannerSnapshot, snapshot_from_json

SCENARIO = Path(__file__).parent.parent / "fixtures" / "planner" / "all_12_demanding.json"
T0 = 1000.0


@dataclass(order=True)
class Timer:
    when: float
    order: int
    callback: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Loop time that moves only when the test says so; `call_at` timers run in deadline order."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self._timers: list[Timer] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object], /) -> Timer:
        timer = Timer(when, next(self._order), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def run_until(self, until: float) -> None:
        while self._timers and self._timers[0].when <= until:
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                self.now = max(self.now, timer.when)
                timer.callback()
        self.now = max(self.now, until)

    def pending(self) -> int:
        return sum(not t.cancelled for t in self._timers)


@dataclass
class Cabinet:
    slots: tuple[SlotState, ...]
    guns: tuple[GunState, ...]


class Sink:
    """Records what it is given; `busy` makes a tick take that long on the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.applied: list[Plan] = []
        self.busy: dict[int, float] = {}

    def apply(self, plan: Plan) -> None:
        self.clock.now += self.busy.get(len(self.applied), 0.0)
        self.applied.append(plan)


def world() -> tuple[PlannerSnapshot, Cabinet, FakeClock, Sink, list[PlanPublished], PlannerTick]:
    snapshot = snapshot_from_json(json.loads(SCENARIO.read_text(encoding="utf-8"))["snapshot"])
    cabinet = Cabinet(snapshot.slots, snapshot.guns)
    clock = FakeClock()
    sink = Sink(clock)
    published: list[PlanPublished] = []
    tick = PlannerTick(
        cabinet,
        sink,
        snapshot.settings,
        clock,
        published.append,
        cabinet_share_kw=snapshot.cabinet_share_kw,
    )
    return snapshot, cabinet, clock, sink, published, tick


def test_ticks_fall_on_absolute_deadlines() -> None:
    _, _, clock, sink, published, tick = world()
    tick.start()
    clock.run_until(T0 + 1.0)
    assert [p.tick for p in published] == list(range(11))
    assert [p.deadline for p in published] == [T0 + k * 0.1 for k in range(11)]
    assert len(sink.applied) == 11
    assert tick.missed_ticks == 0


def test_time_spent_in_a_tick_does_not_drift_the_next() -> None:
    _, _, clock, sink, published, tick = world()
    sink.busy = dict.fromkeys(range(100), 0.03)
    tick.start()
    clock.run_until(T0 + 1.0)
    assert [p.deadline for p in published] == [T0 + k * 0.1 for k in range(11)]
    assert tick.missed_ticks == 0


def test_a_late_tick_skips_the_deadlines_it_missed() -> None:
    _, _, clock, sink, published, tick = world()
    sink.busy = {3: 0.25}  # tick 3 starts at +0.3 and ends at +0.55: +0.4 and +0.5 are gone
    tick.start()
    clock.run_until(T0 + 0.8)
    assert [p.tick for p in published] == [0, 1, 2, 3, 6, 7, 8]
    assert [p.missed for p in published] == [0, 0, 0, 0, 2, 2, 2]
    assert published[4].deadline == pytest.approx(T0 + 0.6)
    assert tick.missed_ticks == 2


def test_each_tick_plans_the_live_cabinet_with_the_previous_plan_and_the_current_share() -> None:
    snapshot, cabinet, clock, sink, published, tick = world()
    tick.start()
    clock.run_until(T0)
    first = published[0]
    assert first.snapshot == snapshot
    assert first.plan == plan(snapshot)
    assert sink.applied == [first.plan]

    tick.set_cabinet_share(300.0)
    cabinet.guns = (replace(cabinet.guns[0], safety_ok=False), *cabinet.guns[1:])
    clock.run_until(T0 + 0.1)
    second = published[1]
    assert second.snapshot.cabinet_share_kw == 300.0
    assert second.snapshot.guns[0].safety_ok is False
    assert second.plan == plan(second.snapshot, first.plan)
    assert second.plan.guns[0].limit == "safety"
    assert sum(g.budget_kw for g in second.plan.guns) == pytest.approx(300.0)


def test_a_refused_snapshot_applies_nothing_and_the_tick_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    _, cabinet, clock, sink, published, tick = world()
    good = cabinet.guns
    cabinet.guns = (replace(good[0], connector_temperature_c=math.nan), *good[1:])
    tick.start()
    with caplog.at_level(logging.ERROR, logger="voltyard.power.planner"):
        clock.run_until(T0 + 0.1)
    assert (tick.failed_ticks, sink.applied, published) == (2, [], [])
    assert "guns[0].connector_temperature_c: must be a finite number, got NaN" in caplog.text
    cabinet.guns = good
    clock.run_until(T0 + 0.2)
    assert [p.tick for p in published] == [2]
    assert published[0].plan == plan(published[0].snapshot)  # planned afresh: no previous plan


def test_a_failing_sink_or_subscriber_does_not_stop_the_tick(caplog: pytest.LogCaptureFixture) -> None:
    snapshot, cabinet, clock, _, _, _ = world()

    class BrokenSink:
        def apply(self, plan: Plan) -> None:
            raise RuntimeError("CAN bus gone")

    def broken_subscriber(event: PlanPublished) -> None:
        raise RuntimeError("subscriber bug")

    tick = PlannerTick(cabinet, BrokenSink(), snapshot.settings, clock, broken_subscriber)
    tick.start()
    with caplog.at_level(logging.ERROR, logger="voltyard.power.planner"):
        clock.run_until(T0 + 0.3)
    assert caplog.text.count("plan sink failed") == 4
    assert caplog.text.count("plan subscriber failed") == 4
    assert tick.running


def test_stop_cancels_the_next_tick_and_start_twice_is_refused() -> None:
    _, _, clock, _, published, tick = world()
    tick.start()
    with pytest.raises(RuntimeError, match="already running"):
        tick.start()
    clock.run_until(T0 + 0.15)
    tick.stop()
    assert not tick.running
    assert clock.pending() == 0
    clock.run_until(T0 + 1.0)
    assert len(published) == 2


def test_a_subscriber_may_stop_the_tick() -> None:
    snapshot, cabinet, clock, sink, _, _ = world()
    seen: list[int] = []

    def stop_at_third(event: PlanPublished) -> None:
        seen.append(event.tick)
        if event.tick == 2:
            tick.stop()

    tick = PlannerTick(cabinet, sink, snapshot.settings, clock, stop_at_third)
    tick.start()
    clock.run_until(T0 + 1.0)
    assert seen == [0, 1, 2]
    assert clock.pending() == 0


def test_the_period_must_be_positive() -> None:
    snapshot, cabinet, clock, sink, published, _ = world()
    with pytest.raises(ValueError, match="period_s must be positive"):
        PlannerTick(cabinet, sink, snapshot.settings, clock, published.append, period_s=0)


async def test_runs_on_the_event_loop() -> None:
    snapshot, cabinet, _, _, _, _ = world()
    loop = asyncio.get_running_loop()
    three: asyncio.Future[None] = loop.create_future()
    applied: list[Plan] = []
    events: list[PlanPublished] = []

    class LoopSink:
        def apply(self, plan: Plan) -> None:
            applied.append(plan)

    def publish(event: PlanPublished) -> None:
        events.append(event)
        if len(events) == 3:
            three.set_result(None)

    tick = PlannerTick(cabinet, LoopSink(), snapshot.settings, loop, publish, period_s=0.005)
    tick.start()
    try:
        await asyncio.wait_for(three, timeout=5)
    finally:
        tick.stop()
    assert len(applied) == 3
    assert [e.plan for e in events] == applied
    for event in events:  # deadlines on the grid of the start, whatever was missed
        assert event.deadline - events[0].deadline == pytest.approx(event.tick * 0.005)
