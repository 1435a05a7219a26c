"""The cabinet's CAN bus in the event loop: a python-can Bus opened from `BusConfig`, frames sent
without blocking, and received frames handed to a callback that runs in the loop.

Reception goes through `can.Notifier` bound to the loop: on interfaces with a file descriptor
(socketcan) the loop reads it directly, otherwise a reader thread hands each message over with
`call_soon_threadsafe`. The callback runs in the loop either way, so decoding and the drivers never
see another thread, and nothing waits in the loop. (An `AsyncBufferedReader` would add a queue and
a task hop per frame for nothing: the callback is already non-blocking.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import can

from voltyard.can.config import BusConfig
from voltyard.errors import CanBusError

log = logging.getLogger(__name__)

# SocketCAN error class bits (linux/can/error.h) carried in an error frame's ID.
CAN_ERR_BUSOFF = 0x040
CAN_ERR_RESTARTED = 0x100


class CanPort:
    """One open bus. `on_message` gets every frame (error frames included) in the loop;
    `on_error` gets an exception raised by the receiving side (the bus failed)."""

    def __init__(
        self,
        config: BusConfig,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[can.Message], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        self.config = config
        self._loop = loop
        self._on_message = on_message
        self._on_error = on_error
        self._bus: can.BusABC | None = None
        self._notifier: can.Notifier | None = None
        self.send_failures = 0

    @property
    def is_open(self) -> bool:
        return self._bus is not None

    def open(self) -> None:
        try:
            self._bus = can.Bus(
                interface=self.config.interface, channel=self.config.channel, bitrate=self.config.bitrate
            )
        except (can.CanError, OSError, ValueError, ImportError) as exc:
            raise CanBusError(
                f"cannot open CAN bus {self.config.interface}:{self.config.channel}: {exc}"
            ) from exc
        listener = _LoopListener(self._on_message, self._on_error)
        self._notifier = can.Notifier(self._bus, [listener], loop=self._loop)

    def close(self) -> None:
        notifier, bus = self._notifier, self._bus
        self._notifier = self._bus = None
        if notifier is not None:
            notifier.stop(timeout=1.0)
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


class _LoopListener(can.Listener):
    def __init__(
        self, on_message: Callable[[can.Message], None], on_error: Callable[[Exception], None]
    ) -> None:
        self._on_message = on_message
        self._on_error = on_error

    def on_message_received(self, msg: can.Message) -> None:
        self._on_message(msg)

    def on_error(self, exc: Exception) -> None:
        self._on_error(exc)


def is_bus_off(message: can.Message) -> bool:
    return message.is_error_frame and bool(message.arbitration_id & CAN_ERR_BUSOFF)
