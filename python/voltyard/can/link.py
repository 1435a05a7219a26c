"""The cabinet's CAN link: one bus, one `PlcDriver` per gun, one RelayControl heartbeat thread for
the bus (`RelayHeartbeat`, fed by the drivers). It routes each received frame to the
driver of its plcId, attributes CRC failures to the PLC whose ID they carry, counts frames it
cannot use, and restarts the bus after bus-off or a failure of the bus, with every gun Faulted
(BUS_OFF) until it is back.

Two things happen on the bus's reader thread, before the loop sees a frame (`voltyard.can.bus`): a
PLC's RelayStatus or SafetySwitchStatus that reports a safety fault trips that gun's relay off through
the heartbeat (`safety_cause`, `RelayHeartbeat.trip`), so the fault reaction holds while the loop is
stalled; and the frames the link listens to are chosen in the kernel on socketcan (`host_filters`: each
configured PLC's PLC->host IDs, nothing of other PLCs or hosts: `voltyard.can.bus.id_filters`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import can
from can.typechecking import CanFilter

from voltyard.can.bus import CanPort, id_filters, is_bus_off
from voltyard.can.config import CabinetConfig
from voltyard.can.driver import PlcDriver
from voltyard.can.frames import (
    PLC_TO_HOST_BASE,
    FaultReason,
    PlcFrame,
    RelayStatus,
    SafetySwitchStatus,
    decode,
)
from voltyard.can.heartbeat import RelayHeartbeat
from voltyard.can.listener import CabinetListener
from voltyard.errors import CanBusError, CanCrcError, CanFrameError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LinkCounters:
    received: int = 0
    crc_failures: int = 0
    bad_frames: int = 0  # not PLC->host, unknown ID, wrong length, undefined mux
    foreign_plc: int = 0  # a well-formed frame from a plcId no gun is configured for
    error_frames: int = 0
    bus_restarts: int = 0


_SAFETY_NAMES = ("emergency stop", "earth fault", "isolation fault", "safety chain open")
_SAFETY_TYPES = frozenset({RelayStatus.BASE_ID, SafetySwitchStatus.BASE_ID})


def safety_cause(message: can.Message) -> tuple[int, str] | None:
    """The plcId and safety fault a PLC reports in `message` (RelayStatus, SafetySwitchStatus), else
    None. Runs on the reader thread for every frame: other frames cost one comparison."""
    arbitration_id = message.arbitration_id
    if message.is_error_frame or arbitration_id & ~0xF not in _SAFETY_TYPES:
        return None
    try:
        frame = decode(arbitration_id, message.data)
    except (CanCrcError, CanFrameError):
        return None  # the loop counts it
    if isinstance(frame, RelayStatus):
        isolation = frame.fault_reason == FaultReason.ISOLATION_FAULT
        causes = (frame.estop_input, frame.earth_fault, isolation, not frame.safety_ok)
    elif isinstance(frame, SafetySwitchStatus):
        causes = (frame.estop, frame.earth_fault, False, not frame.safety_ok)
    else:
        return None
    names = [name for name, on in zip(_SAFETY_NAMES, causes, strict=True) if on]
    return (frame.plc_id, ", ".join(names)) if names else None


class CabinetLink:
    def __init__(self, config: CabinetConfig, listener: CabinetListener) -> None:
        self.config = config
        self._listener = listener
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port: CanPort | None = None
        self._restart: asyncio.TimerHandle | None = None
        self.heartbeat: RelayHeartbeat | None = None
        self.drivers: dict[int, PlcDriver] = {}
        self.counters = LinkCounters()

    @property
    def filters(self) -> list[CanFilter] | None:
        """The filters the bus was opened with (None before `start`)."""
        return self._port.filters if self._port is not None else None

    def driver(self, connector_id: int) -> PlcDriver:
        for driver in self.drivers.values():
            if driver.connector_id == connector_id:
                return driver
        raise KeyError(f"no gun with connector id {connector_id}")

    async def start(self) -> None:
        """Opens the bus (raises `CanBusError` when it cannot) and starts every driver."""
        loop = self._loop = asyncio.get_running_loop()
        timing = self.config.timing
        period = timing.relay_period_s
        bus = self.config.bus
        heartbeat = self.heartbeat = RelayHeartbeat(
            f"{bus.interface}:{bus.channel}", period, timing.feed_timeout_s, self._send
        )
        self._port = CanPort(
            bus,
            loop,
            self._on_message,
            self._on_bus_error,
            filters=id_filters(PLC_TO_HOST_BASE, (gun.plc_id for gun in self.config.guns)),
            tap=self._tap,
        )
        self._port.open()
        for index, gun in enumerate(self.config.guns):
            driver = PlcDriver(
                loop, gun, timing, self._listener, self._send, heartbeat=heartbeat.slot(gun.plc_id)
            )
            self.drivers[gun.plc_id] = driver
            # Staggered so that the drivers' ticks spread over the period.
            driver.start(phase=period * index / len(self.config.guns))
        heartbeat.start()

    async def stop(self) -> None:
        for driver in self.drivers.values():
            driver.stop()  # sends the gun's last, relay-off frame
        if self.heartbeat is not None:
            self.heartbeat.stop()  # joined: nothing sends after this
        if self._restart is not None:
            self._restart.cancel()
        if self._port is not None:
            self._port.close()

    def _send(self, frame: PlcFrame) -> None:
        # From the loop and from the heartbeat thread: python-can's Bus.send is thread-safe.
        if self._port is not None:
            self._port.send(*frame.encode())

    def _tap(self, message: can.Message) -> None:
        # On the reader thread (see the module docstring): the relay opens before the loop hears of it.
        cause = safety_cause(message)
        if cause is not None and self.heartbeat is not None:
            self.heartbeat.trip(*cause)

    def _on_message(self, message: can.Message) -> None:
        now = self._loop.time() if self._loop is not None else 0.0
        if message.is_error_frame:
            self.counters.error_frames += 1
            if is_bus_off(message):
                self._bus_failed("bus-off error frame")
            return
        self.counters.received += 1
        if message.arbitration_id >> 8 != PLC_TO_HOST_BASE >> 8:
            # Host->PLC frames (another host on the bus) and foreign IDs say nothing of a PLC.
            self.counters.bad_frames += 1
            return
        try:
            frame = decode(message.arbitration_id, message.data)
        except CanCrcError:
            self.counters.crc_failures += 1
            # The ID of a frame whose CRC fails is still the PLC's (the CAN controller's own CRC
            # held); count it against that gun when it is one of its frames.
            driver = self.drivers.get(message.arbitration_id & 0xF)
            if driver is not None:
                driver.on_crc_failure(now)
            return
        except CanFrameError as exc:
            self.counters.bad_frames += 1
            log.debug("dropped CAN frame: %s", exc)
            return
        driver = self.drivers.get(frame.plc_id)
        if driver is None:
            self.counters.foreign_plc += 1
            return
        driver.on_frame(frame, now)

    def _on_bus_error(self, exc: Exception) -> None:
        self._bus_failed(f"bus error: {exc}")

    def _bus_failed(self, why: str) -> None:
        if self._restart is not None or self._loop is None:
            return  # a restart is already on its way
        log.error(
            "CAN bus %s failed (%s); restarting in %s s",
            self.config.bus.channel,
            why,
            self.config.timing.bus_restart_s,
        )
        for driver in self.drivers.values():
            driver.on_bus_state(down=True)
        if self._port is not None:
            self._port.close()
        self._restart = self._loop.call_later(self.config.timing.bus_restart_s, self._reopen)

    def _reopen(self) -> None:
        self._restart = None
        if self._port is None or self._loop is None:
            return
        try:
            self._port.open()
        except CanBusError as exc:
            log.error("%s; retrying", exc)
            self._restart = self._loop.call_later(self.config.timing.bus_restart_s, self._reopen)
            return
        self.counters.bus_restarts += 1
        for driver in self.drivers.values():
            driver.on_bus_state(down=False)
