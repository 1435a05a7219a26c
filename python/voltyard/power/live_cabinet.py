"""The live cabinet as the planner reads it, over the CAN drivers: a `CabinetState` whose slots and
guns are built from each PLC's latest frames every time they are read (every 100 ms).

The ring is one slot per PLC, in plcId order: slot i is PLC i's slot, its home gun is gun i (that
PLC's gun), and its modules are MOD1/MN1 and MOD2/MN2 (MOD1 alone with `[cabinet.ring]
modules_per_slot = 1`). Contactor states are the feedback bits
of GCMC_Status, module health and temperature come from ModuleStatus, the gun's limits from its
`GunConfig`, its EV's targets from EVDC_Targets, and its session, safety and comm state from what
the driver decided (faults are debounced there, so a glitch never re-plans the ring).

What a PLC has not reported yet counts against power: a slot without ModuleStatus has no usable
modules, a slot without GCMC_Status has every contactor open (as the PLC keeps them at power-up).
A PLC the host has lost (comm loss, CRC burst, bus-off, missing acks) is treated the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from voltyard.can.driver import PlcDriver
from voltyard.can.frames import GcmcStatus, ModuleHealth, ModuleStatus
from voltyard.can.listener import ConnectorStatus, FaultKind
from voltyard.power.cabinet import GunState, ModuleState, SessionState, SlotState

# Faults that are the link's, not the gun's: the gun is not unsafe, the host just cannot steer it.
COMM_FAULTS = frozenset({FaultKind.COMM_LOSS, FaultKind.CRC_BURST, FaultKind.BUS_OFF, FaultKind.ACK_MISSING})
USABLE = frozenset({ModuleHealth.OK, ModuleHealth.DEGRADED})


def _module(status: ModuleStatus | None, index: int, mn_closed: bool) -> ModuleState:
    if status is None:
        return ModuleState(healthy=False, mn_closed=mn_closed)
    if index == 0:
        health, otp, temperature = status.mod1_health, status.mod1_otp, status.mod1_temp_c
    else:
        health, otp, temperature = status.mod2_health, status.mod2_otp, status.mod2_temp_c
    return ModuleState(
        healthy=health in USABLE, tripped=otp, temperature_c=float(temperature), mn_closed=mn_closed
    )


def _slot(home_gun: int, gcmc: GcmcStatus | None, modules: ModuleStatus | None, count: int = 2) -> SlotState:
    mn = (gcmc.mn1_fb, gcmc.mn2_fb) if gcmc is not None else (False, False)
    return SlotState(
        home_gun=home_gun,
        modules=tuple(_module(modules, index, mn[index]) for index in range(count)),
        gc_closed=gcmc is not None and gcmc.gc_fb,
        mc_closed=gcmc is not None and gcmc.mc_fb,
        cw_closed=gcmc is not None and gcmc.cw_fb,
        ccw_closed=gcmc is not None and gcmc.ccw_fb,
    )


def session_of(driver: PlcDriver) -> SessionState:  # noqa: PLR0911 (a decision table)
    """The gun's session as far as power is concerned."""
    if driver.session is not None:
        charge = driver.charge
        if charge is not None and charge.hlc_session_stop:
            return SessionState.FINISHING
        # SuspendedEV: the EV asks for nothing now; it keeps its island to resume at once.
        # SuspendedEVSE (relay open, EV ready) is charging as far as the planner goes: power is due.
        if driver.status == ConnectorStatus.SUSPENDED_EV:
            return SessionState.SUSPENDED
        return SessionState.CHARGING
    if driver.faults:
        return SessionState.IDLE
    if driver.plugged and driver.authorized is not None and driver.available:
        # Authorised and plugged: the session starts as soon as the EV is ready, so its island is
        # built now (cable check and pre-charge need it).
        return SessionState.PREPARING
    if driver.plugged and driver.session_ended:
        return SessionState.FINISHING
    return SessionState.IDLE


def gun_of(driver: PlcDriver) -> GunState:
    gun = driver.gun
    session = session_of(driver)
    targets = driver.targets
    demanding = session in (SessionState.PREPARING, SessionState.CHARGING, SessionState.SUSPENDED)
    temperature = driver.gun_temperature
    sensor_fault = temperature is not None and temperature.gun_temp_sensor_fault
    return GunState(
        max_power_kw=gun.max_power_kw,
        max_voltage_v=gun.max_voltage_v,
        max_current_a=gun.max_current_a,
        session=session,
        target_voltage_v=targets.ev_target_voltage_0p1v / 10 if demanding and targets is not None else 0.0,
        target_current_a=targets.ev_target_current_0p1a / 10 if demanding and targets is not None else 0.0,
        # A connector whose temperature cannot be read gets no power: derating needs it.
        safety_ok=not sensor_fault and all(kind in COMM_FAULTS for kind in driver.faults),
        comm_ok=not any(kind in COMM_FAULTS for kind in driver.faults),
        connector_temperature_c=(
            float(max(temperature.gun_temp_dcp_c, temperature.gun_temp_dcn_c)) if temperature else 25.0
        ),
    )


class LiveCabinet:
    """`CabinetState` over the drivers of a `CabinetLink` (`link.drivers`, keyed by plcId).

    Slots are cached per PLC on the identity of the frames they come from (a decoded frame is a new
    object, never mutated), so a tick rebuilds only the slots whose PLC reported since.
    """

    def __init__(self, drivers: Sequence[PlcDriver], modules_per_slot: int = 2) -> None:
        self.drivers = tuple(sorted(drivers, key=lambda d: d.gun.plc_id))
        self.modules_per_slot = modules_per_slot
        self._slot_cache: list[tuple[object, object, SlotState]] = [
            (None, None, _slot(i, None, None, modules_per_slot)) for i in range(len(self.drivers))
        ]

    @property
    def slots(self) -> Sequence[SlotState]:
        cache = self._slot_cache
        for i, driver in enumerate(self.drivers):
            gcmc, modules = driver.gcmc_status, driver.module_status
            if driver.faults and not driver.faults.keys().isdisjoint(COMM_FAULTS):
                # The PLC's last word is no longer news: its slot is planned as open and unusable
                # (nobody borrows it, its gun gets nothing), so the rest of the ring is not held up
                # waiting for feedback that cannot come. It is still sent "all open, no power", and
                # a PLC that hears nothing at all opens everything on its RelayControl watchdog.
                gcmc = modules = None
            cached = cache[i]
            if cached[0] is not gcmc or cached[1] is not modules:
                cache[i] = (gcmc, modules, _slot(i, gcmc, modules, self.modules_per_slot))
        return tuple(entry[2] for entry in cache)

    @property
    def guns(self) -> Sequence[GunState]:
        return tuple(gun_of(driver) for driver in self.drivers)
