"""The live cabinet over real PLC drivers fed with frames: the ring in plcId order, slots from
GCMC_Status and ModuleStatus (unknown = unusable), guns from the driver's session, targets, faults
and temperatures, and a lost PLC planned as an open, unusable slot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from voltyard.can.config import DriverTiming, GunConfig
from voltyard.can.driver import PlcDriver
from voltyard.can.frames import (
    ChargeInfo,
    CpState,
    EvdcTargets,
    GcmcStatus,
    GunTemperature,
    ModuleHealth,
    ModuleStatus,
    PlcFrame,
    RelayStatus,
)
from voltyard.power.cabinet import ModuleState, SessionState, SlotState
from voltyard.power.live_cabinet import LiveCabinet


class Listener:
    def __getattr__(self, _name: str):  # every CabinetListener call: ignored here
        return lambda _event: None


@pytest.fixture
async def drivers() -> AsyncIterator[dict[int, PlcDriver]]:
    loop = asyncio.get_running_loop()
    sent: list[PlcFrame] = []
    made = {
        plc_id: PlcDriver(
            loop,
            GunConfig(connector_id=plc_id + 1, plc_id=plc_id, max_power_kw=120, max_current_a=250),
            DriverTiming(),
            Listener(),
            sent.append,
        )
        for plc_id in (7, 2, 4)
    }
    for driver in made.values():
        driver.start()
    yield made
    for driver in made.values():
        driver.stop()


def feed(driver: PlcDriver, *frames: PlcFrame) -> None:
    now = asyncio.get_running_loop().time()
    for frame in frames:
        driver.on_frame(frame, now)


async def test_the_ring_is_in_plc_order_and_unknown_means_unusable(drivers) -> None:
    cabinet = LiveCabinet(list(drivers.values()))
    assert [d.gun.plc_id for d in cabinet.drivers] == [2, 4, 7]
    unknown = ModuleState(healthy=False)
    assert list(cabinet.slots) == [SlotState(home_gun=i, modules=(unknown, unknown)) for i in range(3)]
    guns = cabinet.guns
    assert [g.session for g in guns] == [SessionState.IDLE] * 3
    assert (guns[0].max_power_kw, guns[0].max_current_a, guns[0].max_voltage_v) == (120, 250, 1000)
    assert guns[0].safety_ok
    assert guns[0].comm_ok


async def test_slots_follow_contactor_feedback_and_module_status(drivers) -> None:
    cabinet = LiveCabinet(list(drivers.values()))
    feed(
        drivers[4],
        GcmcStatus(4, gc_cmd=True, gc_fb=True, mc_fb=True, mn2_fb=True, ccw_fb=True),
        ModuleStatus(
            4,
            mod1_health=ModuleHealth.DEGRADED,
            mod1_temp_c=61,
            mod2_health=ModuleHealth.FAULT,
            mod2_otp=True,
            mod2_temp_c=-5,
        ),
    )
    slot = cabinet.slots[1]
    assert slot == SlotState(
        home_gun=1,
        modules=(
            ModuleState(healthy=True, tripped=False, temperature_c=61.0, mn_closed=False),
            ModuleState(healthy=False, tripped=True, temperature_c=-5.0, mn_closed=True),
        ),
        gc_closed=True,
        mc_closed=True,
        cw_closed=False,
        ccw_closed=True,
    )
    assert cabinet.slots[1] is slot  # nothing new from that PLC: the same state, not rebuilt
    feed(drivers[4], GcmcStatus(4, gc_fb=True, mc_fb=True, mn1_fb=True, mn2_fb=True, ccw_fb=True))
    assert cabinet.slots[1].modules[0].mn_closed


async def test_a_gun_goes_from_preparing_to_charging_to_finishing(drivers) -> None:
    cabinet = LiveCabinet(list(drivers.values()))
    driver = drivers[2]
    plugged = ChargeInfo(2, cp_state=CpState.B, lock_engaged=True, hlc_active=True)
    feed(driver, plugged, EvdcTargets(2, ev_target_voltage_0p1v=4000, ev_target_current_0p1a=1500))
    assert cabinet.guns[0].session == SessionState.IDLE  # plugged, but nobody authorised it
    assert cabinet.guns[0].target_current_a == 0.0  # and its targets are not a demand

    driver.authorize("TAG1")
    assert cabinet.guns[0].session == SessionState.PREPARING
    assert (cabinet.guns[0].target_voltage_v, cabinet.guns[0].target_current_a) == (400.0, 150.0)

    demand = ChargeInfo(
        2, cp_state=CpState.C, lock_engaged=True, hlc_active=True, hlc_power_delivery=True,
        hlc_current_demand=True,
    )  # fmt: skip
    feed(driver, demand, RelayStatus(2, rly1_state=True, rly1_fb=True, safety_ok=True, sys_enabled=True))
    assert driver.session is not None
    assert cabinet.guns[0].session == SessionState.CHARGING

    feed(driver, EvdcTargets(2, ev_target_voltage_0p1v=4000, ev_target_current_0p1a=0))
    assert cabinet.guns[0].session == SessionState.SUSPENDED  # the EV asks for 0 A: SuspendedEV

    feed(driver, ChargeInfo(2, cp_state=CpState.B, lock_engaged=True, hlc_active=True, hlc_session_stop=True))
    assert driver.session is None
    assert cabinet.guns[0].session == SessionState.FINISHING
    feed(driver, ChargeInfo(2, cp_state=CpState.A))
    assert cabinet.guns[0].session == SessionState.IDLE


async def test_faults_and_temperatures(drivers) -> None:
    cabinet = LiveCabinet(list(drivers.values()))
    feed(drivers[2], GunTemperature(2, gun_temp_dcp_c=58, gun_temp_dcn_c=63))
    assert cabinet.guns[0].connector_temperature_c == 63.0
    assert cabinet.guns[0].safety_ok

    # Over-temperature is the gun's own fault: unsafe, but still in touch.
    feed(drivers[4], GunTemperature(4, gun_temp_dcp_c=95, gun_temp_dcn_c=40, gun_otp=True))
    assert not cabinet.guns[1].safety_ok
    assert cabinet.guns[1].comm_ok

    # A sensor that cannot be read: no derating possible, so no power.
    feed(drivers[7], GunTemperature(7, gun_temp_sensor_fault=True))
    assert not cabinet.guns[2].safety_ok

    # A lost PLC: its slot is planned open and unusable, whatever it last reported.
    feed(drivers[2], GcmcStatus(2, gc_fb=True, mc_fb=True), ModuleStatus(2))
    assert cabinet.slots[0].gc_closed
    drivers[2].on_bus_state(down=True)
    assert not cabinet.guns[0].comm_ok
    assert cabinet.guns[0].safety_ok
    unknown = ModuleState(healthy=False)
    assert cabinet.slots[0] == SlotState(home_gun=0, modules=(unknown, unknown))
