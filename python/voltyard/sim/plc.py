"""A PLC simulator on a python-can bus: one simulated PLC (and its EV, `voltyard.sim.plc_device`) per
plcId, speaking configs/plc.dbc through the same native codec as the host, so the whole cabinet runs
without hardware (`voltyard plc-sim`, the integration tests, the demo).

Here: `PlcSimulator` (the PLCs on one bus, ticked together; it can also put a bus-off error frame on the
bus), `run` (`voltyard plc-sim`), `SimulatedCabinet` (a site's day: EVs that come, charge and leave, and
an occasional fault) and `SimulatorThread` (the simulator on a thread and event loop of its own, as
`[cabinet] simulate_plcs` runs it inside `serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

import can
from can.typechecking import CanFilter

from voltyard.can.bus import CAN_ERR_BUSOFF, CanPort, id_filters
from voltyard.can.config import BusConfig
from voltyard.can.frames import (
    HOST_TO_PLC_BASE,
    decode,
)
from voltyard.can.schedule import PeriodicTimer
from voltyard.errors import CanCrcError, CanFrameError
from voltyard.sim.ev import EvProfile, Stage
from voltyard.sim.plc_device import TICK_S, FrameEmitter, PeriodStats, SimulatedPlc

log = logging.getLogger(__name__)


class PlcSimulator:
    """Simulated PLCs `plc_ids` on the bus of `bus`; each with an EV of `ev`'s profile."""

    def __init__(
        self, bus: BusConfig, plc_ids: Iterable[int], ev: EvProfile | None = None, seed: int = 0
    ) -> None:
        self.bus = bus
        rng = random.Random(seed)
        self._emitter = FrameEmitter(rng)
        self.plcs = {
            plc_id: SimulatedPlc(plc_id, self._emitter, ev or EvProfile(), rng) for plc_id in plc_ids
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: PeriodicTimer | None = None
        self._last_tick = 0.0
        self.bad_frames = 0

    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        # Only the host's frames to these PLCs (in the kernel on socketcan; see voltyard.can.bus).
        filters = id_filters(HOST_TO_PLC_BASE, self.plcs)
        port = CanPort(self.bus, loop, self._on_message, self._on_error, filters=filters)
        port.open()
        self._emitter.port = port
        self._last_tick = loop.time()
        self._timer = PeriodicTimer(loop, TICK_S, self._tick)
        self._timer.start()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._emitter.port is not None:
            self._emitter.port.close()
            self._emitter.port = None

    @property
    def filters(self) -> list[CanFilter] | None:
        """The filters the bus was opened with (None while stopped)."""
        port = self._emitter.port
        return port.filters if port is not None else None

    def bus_off(self) -> None:
        """Put a bus-off error frame on the bus (what a controller reports when it went bus-off)."""
        if self._emitter.port is not None:
            self._emitter.port.send_message(
                can.Message(arbitration_id=CAN_ERR_BUSOFF, is_error_frame=True, data=bytes(8))
            )

    def period_stats(self, plc_ids: Iterable[int] | None = None) -> PeriodStats:
        ids = self.plcs.keys() if plc_ids is None else plc_ids
        return PeriodStats.of([p for i in ids for p in self.plcs[i].relay_periods])

    def _tick(self, now: float) -> None:
        dt, self._last_tick = now - self._last_tick, now
        for plc in self.plcs.values():
            plc.tick(now, dt)

    def _on_message(self, message: can.Message) -> None:
        if message.is_error_frame or message.arbitration_id >> 8 != HOST_TO_PLC_BASE >> 8:
            return
        plc = self.plcs.get(message.arbitration_id & 0xF)
        if plc is None:
            return
        try:
            frame = decode(message.arbitration_id, message.data)
        except CanCrcError:
            plc.on_bad_crc()
            return
        except CanFrameError:
            self.bad_frames += 1
            return
        now = self._loop.time() if self._loop is not None else 0.0
        plc.on_frame(frame, message.timestamp, now)

    def _on_error(self, exc: Exception) -> None:
        log.error("simulator bus error: %s", exc)


async def run(
    bus: BusConfig, plc_ids: list[int], duration_s: float | None, plug: bool, ev: EvProfile | None = None
) -> PlcSimulator:
    """`voltyard plc-sim`: run the simulated PLCs (EVs plugged in when `plug`) for `duration_s`
    seconds, or until cancelled; returns the simulator for its measurements."""
    sim = PlcSimulator(bus, plc_ids, ev)
    await sim.start()
    if plug:
        for plc in sim.plcs.values():
            plc.ev.plug()
    try:
        if duration_s is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration_s)
    finally:
        await sim.stop()
    return sim


# --- a site's day on the cabinet: EVs that come, charge and leave, and an occasional fault ----------

# (battery V, max A, max kW, max V): a van, a car, an 800 V car.
_EV_KINDS = ((400.0, 125.0, 50.0, 500.0), (400.0, 200.0, 80.0, 500.0), (800.0, 190.0, 150.0, 920.0))


@dataclass(frozen=True, slots=True)
class Traffic:
    """How lively the simulated cabinet is; times in seconds."""

    first_arrival_s: tuple[float, float] = (1.0, 10.0)
    gap_s: tuple[float, float] = (20.0, 90.0)  # between one EV leaving and the next arriving
    wanted_kwh: tuple[float, float] = (4.0, 15.0)
    leave_after_s: float = 3.0  # the driver unplugs this long after the session ended
    give_up_s: float = 20.0  # an EV without power this long (refused, faulted, stopped) leaves
    cars_per_gun: int = 4  # distinct EVs (MACs) per gun, so the demo can provision their id tags
    first_fault_s: float = 90.0
    fault_every_s: float = 240.0  # one gun over-temperature every so often ...
    fault_s: float = 12.0  # ... for this long


def car_mac(plc_id: int, car: int) -> bytes:
    """The MAC of car `car` of the gun of PLC `plc_id`: its AutoCharge id tag is `MAC` + its hex."""
    return bytes((0x02, 0x00, 0x5E, 0x10, plc_id, car))


def car_id_tags(plc_ids: Iterable[int], cars_per_gun: int = 4) -> list[str]:
    """The AutoCharge id tags of every car that may visit the guns of `plc_ids`."""
    return ["MAC" + car_mac(plc, car).hex().upper() for plc in plc_ids for car in range(cars_per_gun)]


class SimulatedCabinet:
    """Simulated PLCs on `bus` with EVs visiting them as `traffic` says (seeded), and a gun that
    overheats now and then and recovers: what `[cabinet] simulate_plcs` runs inside the appliance."""

    def __init__(
        self, bus: BusConfig, plc_ids: Iterable[int], traffic: Traffic | None = None, seed: int = 0
    ) -> None:
        self.traffic = traffic or Traffic()
        self.simulator = PlcSimulator(bus, plc_ids, seed=seed)
        self._rng = random.Random(seed ^ 0xCAB)
        self._tasks: list[asyncio.Task[None]] = []
        self.visits = 0
        self.faults = 0

    async def start(self) -> None:
        await self.simulator.start()
        for plc in self.simulator.plcs.values():
            self._tasks.append(asyncio.create_task(self._visits(plc)))
        self._tasks.append(asyncio.create_task(self._faults()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.simulator.stop()

    def _profile(self, plc_id: int, car: int) -> EvProfile:
        battery_v, max_a, max_kw, max_v = self._rng.choice(_EV_KINDS)
        mac = car_mac(plc_id, car)
        return replace(
            EvProfile(),
            battery_v=battery_v,
            max_current_a=max_a,
            max_power_kw=max_kw,
            max_voltage_v=max_v,
            wanted_kwh=self._rng.uniform(*self.traffic.wanted_kwh),
            mac=mac,
            evccid=mac,  # ISO 15118-2: the EVCCID is the EV's MAC
            emaid=f"DEVOL{plc_id:04d}{car:05d}X".encode(),  # a contract of its own per car
        )

    async def _visits(self, plc: SimulatedPlc) -> None:
        traffic = self.traffic
        await asyncio.sleep(self._rng.uniform(*traffic.first_arrival_s))
        car = 0
        while True:
            plc.ev.plug(self._profile(plc.plc_id, car))
            self.visits += 1
            await self._until_done(plc)
            plc.ev.stop()
            await asyncio.sleep(traffic.leave_after_s)
            plc.ev.unplug()
            car = (car + 1) % traffic.cars_per_gun
            await asyncio.sleep(self._rng.uniform(*traffic.gap_s))

    async def _until_done(self, plc: SimulatedPlc) -> None:
        """Until the EV has what it wanted, or has had no power for `give_up_s` (the host refused or
        stopped the session, or the gun faulted)."""
        without_power = 0.0
        step = 0.5
        while plc.ev.stage != Stage.SESSION_STOP:
            await asyncio.sleep(step)
            without_power = 0.0 if plc.power_path else without_power + step
            if without_power >= self.traffic.give_up_s:
                return

    async def _faults(self) -> None:
        traffic = self.traffic
        await asyncio.sleep(traffic.first_fault_s)
        plcs = list(self.simulator.plcs.values())
        while True:
            plc = self._rng.choice(plcs)
            log.info("simulated cabinet: PLC %d overheats for %g s", plc.plc_id, traffic.fault_s)
            plc.inject.over_temperature = True
            self.faults += 1
            await asyncio.sleep(traffic.fault_s)
            plc.inject.over_temperature = False
            await asyncio.sleep(traffic.fault_every_s - traffic.fault_s)


# --- the simulated PLCs on a thread and event loop of their own ---------------------------------------


class _Simulator(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=_Simulator)
R = TypeVar("R")


class SimulatorThread(Generic[S]):
    """Runs `simulator` (a `PlcSimulator` or `SimulatedCabinet`) on a thread with its own event loop.

    Real PLCs judge the RelayControl watchdog on their own clock; simulated PLCs on the server's loop
    would judge it only when that loop runs, so a stall of the server would hide from them (or, with
    their frames late too, fault them for the server's sake). On a thread of their own they see the
    bus as a PLC does. python-can's `virtual` bus joins buses of the threads of one process. Reach
    into the simulator only through `call`/`run` (its state belongs to its loop)."""

    def __init__(self, simulator: S, name: str = "plc-sim") -> None:
        self.simulator = simulator
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        """Starts the thread and the simulator on it; raises what the simulator's start raises."""
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=_run_loop, args=(loop,), name=self._name, daemon=True)
        self._thread.start()
        try:
            await self.run(self.simulator.start())
        except BaseException:
            self._halt()
            raise

    async def stop(self) -> None:
        """Stops the simulator, then its loop, and joins the thread."""
        if self._loop is None:
            return
        try:
            await self.run(self.simulator.stop())
        finally:
            self._halt()

    async def run(self, coro: Coroutine[Any, Any, R]) -> R:
        """Runs `coro` on the simulator's loop and waits for it from the caller's loop."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the simulator thread is not running")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def call(self, function: Callable[[], R]) -> R:
        """Calls `function` on the simulator's loop (e.g. to plug an EV or inject a fault)."""

        async def call() -> R:
            return function()

        return await self.run(call())

    def call_soon(self, function: Callable[[], object]) -> None:
        """Has the simulator's loop call `function` soon, from any thread, without waiting for it (a
        fault injected while the caller's own loop is blocked)."""
        if self._loop is None:
            raise RuntimeError("the simulator thread is not running")
        self._loop.call_soon_threadsafe(function)

    def _halt(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5.0)
            if thread.is_alive():
                log.error("simulator thread %s did not stop within 5 s", self._name)


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
