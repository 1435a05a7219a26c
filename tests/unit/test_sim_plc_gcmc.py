"""The simulated PLC and GCMC_Command: without one, the gun is its single relay as before; once the
host drives the slot, contactors follow (and are acknowledged at once), the power path needs GC, and
the EV's current is capped at the gun's power budget."""

from __future__ import annotations

import random

import pytest
from voltyard.can.frames import GcmcCommand, GcmcStatus, PlcFrame, RelayControl
from voltyard.sim.ev import EvProfile, Stage
from voltyard.sim.plc_device import SimulatedPlc


class Emitter:
    def __init__(self) -> None:
        self.frames: list[PlcFrame] = []

    def send(self, _plc: SimulatedPlc, frame: PlcFrame) -> None:
        self.frames.append(frame)

    def gcmc(self) -> GcmcStatus:
        return [f for f in self.frames if isinstance(f, GcmcStatus)][-1]


def plc_charging() -> tuple[SimulatedPlc, Emitter]:
    emitter = Emitter()
    plc = SimulatedPlc(
        1, emitter, EvProfile(battery_v=400, max_current_a=200, max_power_kw=80), random.Random(0)
    )  # type: ignore[arg-type]
    plc.on_frame(RelayControl(1, rly1_cmd=True, sys_enable=True, auth_grant=True, cmd_seq=1), 0.0, 0.0)
    plc.ev.plug()
    now = 0.0
    while plc.ev.stage < Stage.CURRENT_DEMAND and now < 2.0:
        now += 0.05
        plc.on_frame(RelayControl(1, rly1_cmd=True, sys_enable=True, auth_grant=True, cmd_seq=1), now, now)
        plc.tick(now, 0.05)
    return plc, emitter


def run(plc: SimulatedPlc, seconds: float, start: float = 2.0) -> float:
    now = start
    while now < start + seconds:
        now += 0.05
        plc.on_frame(RelayControl(1, rly1_cmd=True, sys_enable=True, auth_grant=True, cmd_seq=1), now, now)
        plc.tick(now, 0.05)
    return now


def test_without_a_planner_the_relay_alone_feeds_the_ev() -> None:
    plc, emitter = plc_charging()
    assert plc.ev.stage == Stage.CURRENT_DEMAND
    run(plc, 1.0)
    assert plc.ev.current_a == pytest.approx(200.0)  # min(200 A, 80 kW / 400 V)
    assert plc.ev.target_current_a == pytest.approx(200.0)
    status = emitter.gcmc()
    assert status.gc_fb
    assert status.gc_cmd
    assert not status.mc_fb


def test_the_budget_caps_the_current_and_gc_gates_the_power_path() -> None:
    plc, emitter = plc_charging()
    plc.on_frame(
        GcmcCommand(1, gc_cmd=True, mc_cmd=True, mn1_cmd=True, gcmc_seq=7, gcmc_mask=0x3F,
                    pwr_limit_0p1kw=300, cur_limit_0p1a=2500),
        2.0, 2.0,
    )  # fmt: skip
    status = emitter.gcmc()  # answered at once
    assert (status.gc_fb, status.mc_fb, status.mn1_fb, status.mn2_fb) == (True, True, True, False)
    assert status.last_gcmc_seq_applied == 7
    run(plc, 1.0)
    assert plc.ev.current_a == pytest.approx(75.0)  # 30 kW at 400 V
    assert plc.ev.target_current_a == pytest.approx(200.0)  # it still asks for what it wants

    plc.on_frame(GcmcCommand(1, gc_cmd=False, gcmc_seq=8, gcmc_mask=0x3F, pwr_limit_0p1kw=300), 3.0, 3.0)
    assert not plc.power_path
    run(plc, 0.2, start=3.0)
    assert plc.ev.current_a == 0.0

    plc.on_frame(GcmcCommand(1, gc_cmd=True, gcmc_seq=9, gcmc_mask=0x3F, gcmc_force_off=True), 4.0, 4.0)
    assert emitter.gcmc().gcmc_forced_off
    assert not emitter.gcmc().gc_fb
