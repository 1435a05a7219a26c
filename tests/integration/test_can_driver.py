"""The PLC drivers against plc-sim on a python-can `virtual` bus (a channel of its own per test):
a full charging session, every fault ending with the relay commanded off within 200 ms, the gun
Faulted and its transaction stopped, and recovery to Available; the ConfigCmd round trip; and the
RelayControl period over a minute with 12 PLCs.

Nothing here polls with sleeps: the recording listener wakes the test on each event.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from voltyard.can.config import BusConfig, CabinetConfig, DriverTiming, GunConfig
from voltyard.can.frames import ConfigOp, ConfigParam, IdKind, RelayControl
from voltyard.can.link import CabinetLink
from voltyard.can.listener import (
    ConnectorStatus,
    FaultCleared,
    FaultKind,
    FaultRaised,
    IdentityReceived,
    MeterSample,
    SessionStarted,
    SessionStopped,
    StatusChanged,
    StopReason,
)
from voltyard.errors import CanCommTimeoutError, CanConfigRejectedError
from voltyard.sim.ev import EvProfile
from voltyard.sim.plc import PlcSimulator

_channels = itertools.count()
Event = (
    StatusChanged
    | SessionStarted
    | SessionStopped
    | FaultRaised
    | FaultCleared
    | IdentityReceived
    | MeterSample
)


@dataclass
class RecordingListener:
    """Keeps every event; `wait_for` returns the first event that matches, waking on each new one."""

    events: list[Event] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def _record(self, event: Event) -> None:
        self.events.append(event)

        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(notify())

    status_changed = session_started = session_stopped = _record
    fault_raised = fault_cleared = identity_received = meter_sample = _record

    async def wait_for(self, match: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        async def first() -> Event:
            async with self._changed:
                seen = 0
                while True:
                    for event in self.events[seen:]:
                        if match(event):
                            return event
                    seen = len(self.events)
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(first(), timeout)
        except TimeoutError:
            seen = [e for e in self.events if not isinstance(e, MeterSample)]
            raise AssertionError(f"no matching event within {timeout} s; events: {seen}") from None

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class Cabinet:
    link: CabinetLink
    sim: PlcSimulator
    listener: RecordingListener


def cabinet_config(plc_ids: list[int], **timing: float) -> CabinetConfig:
    return CabinetConfig(
        guns=tuple(GunConfig(connector_id=i + 1, plc_id=p) for i, p in enumerate(plc_ids)),
        bus=BusConfig(interface="virtual", channel=f"voltyard-test-{next(_channels)}"),
        timing=DriverTiming(**timing),
    )


@pytest.fixture
async def cabinet(request: pytest.FixtureRequest) -> AsyncIterator[Cabinet]:
    marker = request.node.get_closest_marker("plcs")
    plc_ids = list(marker.args[0]) if marker else [3]
    config = cabinet_config(plc_ids)
    listener = RecordingListener()
    sim = PlcSimulator(config.bus, plc_ids, EvProfile())
    await sim.start()
    link = CabinetLink(config, listener)
    await link.start()
    yield Cabinet(link, sim, listener)
    await link.stop()
    await sim.stop()
    if not request.node.get_closest_marker("watchdog_fires"):
        for plc in sim.plcs.values():
            assert plc.watchdog_trips == 0, f"PLC {plc.plc_id}'s watchdog fired"


def status_is(connector_id: int, status: ConnectorStatus) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, StatusChanged) and e.connector_id == connector_id and e.status == status


async def start_session(cab: Cabinet, plc_id: int = 3, connector_id: int = 1) -> SessionStarted:
    plc = cab.sim.plcs[plc_id]
    plc.ev.plug()
    await cab.listener.wait_for(status_is(connector_id, ConnectorStatus.PREPARING))
    identity = await cab.listener.wait_for(
        lambda e: isinstance(e, IdentityReceived) and e.kind == IdKind.EVMAC
    )
    assert isinstance(identity, IdentityReceived)
    cab.link.driver(connector_id).authorize("MAC" + identity.value.hex().upper())
    started = await cab.listener.wait_for(lambda e: isinstance(e, SessionStarted))
    await cab.listener.wait_for(status_is(connector_id, ConnectorStatus.CHARGING))
    assert isinstance(started, SessionStarted)
    return started


async def test_full_charging_session(cabinet: Cabinet) -> None:
    cab, plc = cabinet, cabinet.sim.plcs[3]
    started = await start_session(cab)
    assert started.id_tag == "MAC02005E100001"
    # Charge until the meter register has moved, then the EV ends the session.
    await cab.listener.wait_for(lambda e: isinstance(e, MeterSample) and e.current_a > 100)
    # Woken by each new sample (wait_for looked at the first sample ever, again and again: a busy loop
    # that starved the CAN threads and, on a busy machine, had the PLC's watchdog open the relay).
    await cab.listener.wait_for(
        lambda e: isinstance(e, MeterSample) and cab.link.driver(1).energy_wh >= started.meter_start_wh + 100,
        timeout=30,
    )
    plc.ev.stop()
    stopped = await cab.listener.wait_for(lambda e: isinstance(e, SessionStopped))
    assert isinstance(stopped, SessionStopped)
    assert stopped.reason == StopReason.LOCAL
    assert stopped.meter_stop_wh >= started.meter_start_wh + 100
    await cab.listener.wait_for(status_is(1, ConnectorStatus.FINISHING))
    plc.ev.unplug()
    await cab.listener.wait_for(status_is(1, ConnectorStatus.AVAILABLE))
    statuses = [e.status for e in cab.listener.of(StatusChanged)]  # type: ignore[union-attr]
    assert statuses == [
        ConnectorStatus.PREPARING,
        ConnectorStatus.CHARGING,
        ConnectorStatus.FINISHING,
        ConnectorStatus.AVAILABLE,
    ]
    assert not cab.listener.of(FaultRaised)
    # The relay-off command follows the stop with the next periodic frame.
    off_at, _ = await plc.relay_control(relay_off, since=stopped.at)
    assert off_at - stopped.at <= 0.2


FAULTS: list[tuple[str, FaultKind, StopReason]] = [
    ("estop", FaultKind.ESTOP, StopReason.EMERGENCY_STOP),
    ("earth_fault", FaultKind.EARTH_FAULT, StopReason.OTHER),
    ("isolation_fault", FaultKind.ISOLATION_FAULT, StopReason.OTHER),
    ("safety_open", FaultKind.SAFETY_NOT_OK, StopReason.OTHER),
    ("silent", FaultKind.COMM_LOSS, StopReason.OTHER),
    ("corrupt_crc", FaultKind.CRC_BURST, StopReason.OTHER),
    ("meter_silent", FaultKind.METER_STALE, StopReason.OTHER),
    ("weld", FaultKind.CONTACTOR_WELD, StopReason.OTHER),
    ("stuck_open", FaultKind.CONTACTOR_MISMATCH, StopReason.OTHER),
    ("over_temperature", FaultKind.OVER_TEMPERATURE, StopReason.OTHER),
    ("ignore_commands", FaultKind.ACK_MISSING, StopReason.OTHER),
]


def relay_off(frame: RelayControl) -> bool:
    return not frame.rly1_cmd or frame.force_all_off


@pytest.mark.parametrize(("injection", "kind", "reason"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_fault_opens_the_gun_stops_the_session_and_recovers(
    cabinet: Cabinet, injection: str, kind: FaultKind, reason: StopReason
) -> None:
    cab, plc = cabinet, cabinet.sim.plcs[3]
    await start_session(cab)
    if injection == "ignore_commands":
        # A missing ack shows on a command change: here the stop of the session, which the PLC
        # never applies (the relay would stay closed), so the gun faults after 3 attempts.
        plc.inject.ignore_commands = True
        cab.link.driver(1).remote_stop()
        reason = StopReason.REMOTE
    else:
        setattr(plc.inject, injection, True)
    raised = await cab.listener.wait_for(lambda e: isinstance(e, FaultRaised) and e.kind == kind)
    assert isinstance(raised, FaultRaised)
    await cab.listener.wait_for(status_is(1, ConnectorStatus.FAULTED))
    stopped = cab.listener.of(SessionStopped)
    assert len(stopped) == 1
    assert stopped[0].reason == reason  # type: ignore[union-attr]
    # The relay-off frame reaches the PLC within 200 ms of detection (a silent or deaf PLC still
    # receives it: the frame is sent in the same call that detects the fault).
    off_at, _ = await plc.relay_control(relay_off, since=raised.at)
    assert off_at - raised.at <= 0.2, f"relay off {1000 * (off_at - raised.at):.0f} ms after detection"
    assert cab.link.driver(1).relay.command.close is False
    # Recovery: the cause goes away, the EV is unplugged, the gun is Available again.
    setattr(plc.inject, injection, False if injection != "loss_ratio" else 0.0)
    plc.ev.unplug()
    await cab.listener.wait_for(lambda e: isinstance(e, FaultCleared) and e.kind == kind)
    await cab.listener.wait_for(status_is(1, ConnectorStatus.AVAILABLE))
    assert not cab.link.driver(1).faults
    # The injected fault is the one detected first, and opening the gun is no contactor fault.
    raised_kinds = [e.kind for e in cab.listener.of(FaultRaised)]  # type: ignore[union-attr]
    assert raised_kinds[0] == kind
    if kind not in (FaultKind.CONTACTOR_WELD, FaultKind.CONTACTOR_MISMATCH):
        assert not {FaultKind.CONTACTOR_WELD, FaultKind.CONTACTOR_MISMATCH} & set(raised_kinds)


@pytest.mark.watchdog_fires
async def test_bus_off_faults_every_gun_and_the_bus_restarts(cabinet: Cabinet) -> None:
    cab = cabinet
    await start_session(cab)
    cab.sim.bus_off()
    raised = await cab.listener.wait_for(lambda e: isinstance(e, FaultRaised) and e.kind == FaultKind.BUS_OFF)
    stopped = await cab.listener.wait_for(lambda e: isinstance(e, SessionStopped))
    assert isinstance(stopped, SessionStopped)
    assert stopped.reason == StopReason.POWER_LOSS
    await cab.listener.wait_for(status_is(1, ConnectorStatus.FAULTED))
    # The bus comes back after bus_restart_s; the PLC's watchdog fired meanwhile (its latched
    # fault is cleared by the host); the gun is Available once the EV is gone.
    cab.sim.plcs[3].ev.unplug()
    await cab.listener.wait_for(lambda e: isinstance(e, FaultCleared) and e.kind == FaultKind.BUS_OFF)
    await cab.listener.wait_for(status_is(1, ConnectorStatus.AVAILABLE))
    assert cab.link.counters.bus_restarts == 1
    assert isinstance(raised, FaultRaised)
    assert cab.sim.plcs[3].watchdog_trips == 1  # the bus really was down for the PLC


async def test_config_round_trip(cabinet: Cabinet) -> None:
    driver, plc = cabinet.link.driver(1), cabinet.sim.plcs[3]
    assert await driver.configure(ConfigParam.FW_VERSION) == 0x010000
    assert await driver.configure(ConfigParam.DEBOUNCE_MS, ConfigOp.SET, 40) == 40
    assert plc.params[ConfigParam.DEBOUNCE_MS] == 40
    with pytest.raises(CanConfigRejectedError, match="FW_VERSION SET refused: READ_ONLY") as refused:
        await driver.configure(ConfigParam.FW_VERSION, ConfigOp.SET, 1)
    assert refused.value.status == "READ_ONLY"
    plc.inject.mute_config = True
    with pytest.raises(CanCommTimeoutError, match=r"no ConfigAck for RELAY_TIMEOUT_MS GET within 0\.5 s"):
        await driver.configure(ConfigParam.RELAY_TIMEOUT_MS)


async def test_frame_loss_below_the_limits_is_no_fault(cabinet: Cabinet) -> None:
    cab, plc = cabinet, cabinet.sim.plcs[3]
    await start_session(cab)
    plc.inject.loss_ratio = 0.3
    # Three seconds cover the meter's 2 s staleness and the 1 s comm timeout more than once.
    await asyncio.sleep(3.0)
    assert not cab.listener.of(FaultRaised)
    assert cab.link.driver(1).status == ConnectorStatus.CHARGING


@pytest.mark.slow
@pytest.mark.timeout(180)  # a 60 s measurement window (Done-when 3 of its issue), plus 12 PLCs' start-up
# Under scripts/test.sh's workers, never beside the cold release build (test_wheels.py, same group): that
# takes both cores, and the p99 measured beside it failed in a clean-clone CI run.
@pytest.mark.xdist_group("release_build")
@pytest.mark.plcs(range(12))
async def test_relay_control_period_over_a_minute_with_12_plcs(cabinet: Cabinet) -> None:
    """Done-when 3: p1 and p99 of the RelayControl period within 100 ms +- 20 ms, no watchdog."""
    cab = cabinet
    for driver in cab.link.drivers.values():
        driver.authorize(f"TAG{driver.gun.plc_id}")
    for plc in cab.sim.plcs.values():
        plc.ev.plug()
    for connector_id in range(1, 13):
        await cab.listener.wait_for(status_is(connector_id, ConnectorStatus.CHARGING))
    for plc in cab.sim.plcs.values():
        plc.relay_periods.clear()
    await asyncio.sleep(60.0)  # the measurement window, not a poll
    stats = cab.sim.period_stats()
    print(f"RelayControl period, 12 PLCs, 60 s: {stats}")
    periods_ms = sorted(p * 1000 for plc in cab.sim.plcs.values() for p in plc.relay_periods)
    p1 = periods_ms[len(periods_ms) // 100]
    assert stats.count >= 12 * 590
    assert p1 >= 80.0, stats
    assert stats.p99_ms <= 120.0, stats
    assert not cab.listener.of(FaultRaised)
