"""The cabinet's CAN bus in the event loop: a python-can Bus opened from `BusConfig`, frames sent
without blocking, and received frames handed to a callback that runs in the loop.

Reception runs on a reader thread of the port's own, whatever the interface (a socketcan file
descriptor is not read by the loop): the thread first shows each frame to `tap`, which may act at
once without the loop (the cabinet's safety trip, `voltyard.can.link`), then hands it to the loop with
`call_soon_threadsafe`. Decoding for the drivers and the drivers themselves run in the loop only; a
stalled loop delays what it decides, not what the tap does.

`filters` (python-can `can_filters`) are set in the kernel on socketcan, so that frames of other PLCs
and hosts never wake the host; error frames pass whatever the filters (python-can enables them apart).
On other interfaces (virtual, udp_multicast) the reader thread applies the same filters, error frames
passing as well: python-can's own software filtering would drop the error frames (a bus-off).

On `udp_multicast` the datagrams are sent with a TTL of 0: they reach the processes of this machine
(a separate `voltyard plc-sim`, docs/can.md) and never leave it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import can
from can.typechecking import CanFilter

from voltyard.can.config import BusConfig
from voltyard.errors import CanBusError

log = logging.getLogger(__name__)

# SocketCAN error class bits (linux/can/error.h) carried in an error frame's ID.
CAN_ERR_BUSOFF = 0x040
CAN_ERR_RESTARTED = 0x100
# An ID is base | type nibble << 4 | plcId (docs/can.md): the mask keeps the base and the plcId.
ID_MASK = 0x1FFFFF0F
# How long the reader thread waits for a frame before it looks whether it should stop.
_RECV_TIMEOUT_S = 0.1


class CanPort:
    """One open bus. `on_message` gets every frame (error frames included) in the loop;
    `on_error` gets an exception raised by the receiving side (the bus failed), in the loop too.
    `tap`, when given, sees every frame first, on the reader thread: it must be quick and not raise."""

    def __init__(
        self,
        config: BusConfig,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[can.Message], None],
        on_error: Callable[[Exception], None],
        *,
        filters: Sequence[CanFilter] | None = None,
        tap: Callable[[can.Message], None] | None = None,
    ) -> None:
        self.config = config
        self._loop = loop
        self._on_message = on_message
        self._on_error = on_error
        self.filters: list[CanFilter] | None = list(filters) if filters is not None else None
        self._tap = tap
        self._bus: can.BusABC | None = None
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self.send_failures = 0

    @property
    def is_open(self) -> bool:
        return self._bus is not None

    @property
    def in_kernel(self) -> bool:
        """Whether the bus filters in the kernel (socketcan) rather than the reader thread."""
        return self.config.interface == "socketcan"

    def bus_kwargs(self) -> dict[str, Any]:
        """What `open` passes to `can.Bus` besides interface and channel."""
        kwargs: dict[str, Any] = {"bitrate": self.config.bitrate}
        if self.in_kernel:
            kwargs["can_filters"] = self.filters
        if self.config.interface == "udp_multicast":
            kwargs["hop_limit"] = 0  # this machine's processes only (see the module docstring)
        return kwargs

    def open(self) -> None:
        try:
            bus = can.Bus(interface=self.config.interface, channel=self.config.channel, **self.bus_kwargs())
        except (can.CanError, OSError, ValueError, ImportError, TypeError) as exc:
            raise CanBusError(
                f"cannot open CAN bus {self.config.interface}:{self.config.channel}: {exc}"
            ) from exc
        self._bus = bus
        self._stop = threading.Event()
        self._reader = threading.Thread(
            target=self._read,
            args=(bus, self._stop),
            name=f"can-reader {self.config.interface}:{self.config.channel}",
            daemon=True,
        )
        self._reader.start()

    def close(self) -> None:
        reader, bus = self._reader, self._bus
        self._reader = self._bus = None
        self._stop.set()
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=1.0)
        if bus is not None:
            bus.shutdown()

    def send(self, arbitration_id: int, data: bytes) -> bool:
        """Queue one extended frame; False (and counted) when the bus is closed or refuses it."""
        return self.send_message(can.Message(arbitration_id=arbitration_id, data=data, is_extended_id=True))

    def send_message(self, message: can.Message) -> bool:
        """Queue any message (the simulator's error frames too); False when it could not."""
        bus = self._bus
        if bus is None:
            self.send_failures += 1
            return False
        arbitration_id = message.arbitration_id
        try:
            # timeout=0: never wait in the loop; a full TX queue is reported, not waited out.
            bus.send(message, timeout=0)
        except can.CanError as exc:
            self.send_failures += 1
            log.warning("CAN send %#x failed: %s", arbitration_id, exc)
            return False
        return True

    def _read(self, bus: can.BusABC, stop: threading.Event) -> None:
        loop, tap = self._loop, self._tap
        filters = None if self.in_kernel else self.filters
        while not stop.is_set():
            try:
                message = bus.recv(_RECV_TIMEOUT_S)
            except Exception as exc:  # the bus failed (or was shut down under the thread)
                if not stop.is_set() and not loop.is_closed():
                    loop.call_soon_threadsafe(self._on_error, exc)
                return
            if message is None or (filters is not None and not passes(filters, message)):
                continue
            if tap is not None:
                try:
                    tap(message)
                except Exception:  # the reader must outlive a bad tap; the loop still gets the frame
                    log.exception("CAN reader: tap failed")
            try:
                loop.call_soon_threadsafe(self._on_message, message)
            except RuntimeError:  # the loop closed under the thread: nothing left to tell
                return


def id_filters(base: int, plc_ids: Iterable[int]) -> list[CanFilter]:
    """Filters that pass every frame of `base` (0x100 PLC->host, 0x300 host->PLC) of each of `plc_ids`,
    whatever its type, and nothing else: the host passes its PLCs' frames, a simulated PLC its host's."""
    return [
        {"can_id": base | plc_id, "can_mask": ID_MASK, "extended": True} for plc_id in sorted(set(plc_ids))
    ]


def passes(filters: Sequence[CanFilter], message: can.Message) -> bool:
    """Whether `message` passes `filters` as the kernel's CAN_RAW_FILTER has it (an error frame always
    does: socketcan receives those through its error mask, apart from the filters)."""
    if message.is_error_frame or not filters:
        return True
    arbitration_id, extended = message.arbitration_id, message.is_extended_id
    return any(
        (f["can_id"] ^ arbitration_id) & f["can_mask"] == 0 and f.get("extended", extended) == extended
        for f in filters
    )


def is_bus_off(message: can.Message) -> bool:
    return message.is_error_frame and bool(message.arbitration_id & CAN_ERR_BUSOFF)
