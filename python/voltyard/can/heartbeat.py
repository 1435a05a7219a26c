"""The RelayControl heartbeat of one bus, on a thread of its own (ARCHITECTURE.md §9).

Each PLC opens everything when RelayControl stops for ~300 ms, so the frame must go out every
`relay_period_s` whatever the event loop is doing: the loop serves every OCPP connection too and
can stall for a second under load. The thread owns the cadence (drift-free, the guns staggered over
the period); the loop only *feeds* it each gun's latest frame (`HeartbeatSlot.feed`, thread-safe),
on every command change and on every driver tick. CMD_SEQ handling and the out-of-cycle retries stay
on the loop (`RelayCommander`).

A gun whose feed is older than `feed_timeout_s` has lost its controller (the loop is hung or gone):
the thread then commands its relay open itself, with FORCE_ALL_OFF under the next CMD_SEQ (a changed
command takes a new one), and keeps sending that until the loop feeds it again. The loop learns of it
through `HeartbeatSlot.take_lapse` and adopts that CMD_SEQ, so that its next command takes a new one.

The fault reaction does not wait for the loop either: the bus's reader thread, seeing a PLC report a
safety fault (estop, earth fault, isolation fault, safety chain open), calls `RelayHeartbeat.trip`,
which sends the relay-off frame at once from that thread and keeps sending it in the gun's slot until
the loop, told through `take_lapse` (cause `Lapse.SAFETY_TRIP`), has adopted it. The loop's debounce
still decides which fault is raised and reported; the relay is open before it has run.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from enum import Enum

from voltyard.can.frames import RelayControl

log = logging.getLogger(__name__)


class Lapse(Enum):
    """Why the relay was commanded off without the loop."""

    FEED_TIMEOUT = "feed_timeout"  # the loop stopped feeding the heartbeat
    SAFETY_TRIP = "safety_trip"  # the reader thread saw the PLC report a safety fault


class HeartbeatSlot:
    """One gun's place in the heartbeat: the frame the loop wants sent, and when it last said so."""

    __slots__ = ("_fed_at", "_forced", "_frame", "_lapse", "_lock", "plc_id")

    def __init__(self, plc_id: int) -> None:
        self.plc_id = plc_id
        self._lock = threading.Lock()
        self._frame: RelayControl | None = None
        self._fed_at = 0.0
        self._forced: RelayControl | None = None  # what the thread sends while the feed has lapsed
        # A force-off the loop has not been told of yet, and why it was sent.
        self._lapse: tuple[RelayControl, Lapse] | None = None

    def feed(self, frame: RelayControl) -> tuple[RelayControl, Lapse] | None:
        """The loop's latest frame for this gun (called from the loop, on change and every tick).

        When the thread opened the relay itself and the loop has not been told yet, the frame is not
        taken: the force-off is returned instead (and forgotten), for the loop to adopt first."""
        with self._lock:
            if self._lapse is not None:
                lapse, self._lapse = self._lapse, None
                return lapse
            self._frame = frame
            self._fed_at = time.monotonic()
            self._forced = None
            return None

    def take_lapse(self) -> tuple[RelayControl, Lapse] | None:
        """The force-off frame sent without the loop since it last asked, and why (then forgets it)."""
        with self._lock:
            lapse, self._lapse = self._lapse, None
            return lapse

    def _due(self, now: float, feed_timeout_s: float) -> RelayControl | None:
        """What the thread sends now: the loop's frame, or the relay-off frame once the feed lapsed."""
        with self._lock:
            frame = self._frame
            if frame is None:
                return None  # the gun's driver has not started yet
            if self._forced is None and now - self._fed_at > feed_timeout_s:
                self._forced = _force_off(frame)
                self._lapse = (self._forced, Lapse.FEED_TIMEOUT)
                log.error(
                    "PLC %s: no RelayControl from the controller for %.1f s; relays commanded off",
                    self.plc_id,
                    now - self._fed_at,
                )
            return self._forced or frame

    def trip(self) -> RelayControl | None:
        """Commands the relay off now, from any thread: the force-off frame to send at once (under the
        next CMD_SEQ), kept in the slot until the loop adopts it. None when the relay is not commanded
        closed (nothing to open) or is already forced off."""
        with self._lock:
            frame = self._frame
            if frame is None or self._forced is not None or not frame.rly1_cmd or frame.force_all_off:
                return None
            self._forced = _force_off(frame)
            self._lapse = (self._forced, Lapse.SAFETY_TRIP)
            return self._forced


def _force_off(frame: RelayControl) -> RelayControl:
    """`frame` turned into the relay-off command under the next CMD_SEQ (a changed command takes one)."""
    return RelayControl(
        frame.plc_id,
        rly1_cmd=False,
        sys_enable=frame.sys_enable,
        force_all_off=True,
        clear_faults=False,
        auth_grant=False,
        cmd_seq=(frame.cmd_seq + 1) % 256,
        rly_enable_mask=frame.rly_enable_mask,
    )


class RelayHeartbeat:
    """The heartbeat thread of one bus; `send` puts a frame on the bus from that thread (python-can's
    `Bus.send` is thread-safe for socketcan and virtual) and must not raise."""

    def __init__(
        self,
        name: str,
        period_s: float,
        feed_timeout_s: float,
        send: Callable[[RelayControl], None],
    ) -> None:
        self._name = name
        self._period = period_s
        self._feed_timeout = feed_timeout_s
        self._send = send
        self.slots: list[HeartbeatSlot] = []
        self._by_plc: dict[int, HeartbeatSlot] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.skipped = 0  # send slots missed by more than a period (the thread itself was late)

    def slot(self, plc_id: int) -> HeartbeatSlot:
        """A gun's slot; guns are added before `start` and sent in the order they were added."""
        if self._thread is not None:
            raise RuntimeError("add the guns before starting the heartbeat")
        slot = HeartbeatSlot(plc_id)
        self.slots.append(slot)
        self._by_plc[plc_id] = slot
        return slot

    def trip(self, plc_id: int, why: str) -> bool:
        """PLC `plc_id` reports a safety fault (`why`): its relay-off frame leaves now, from the calling
        thread (the bus's reader), without the loop. False when there was nothing to open."""
        slot = self._by_plc.get(plc_id)
        frame = slot.trip() if slot is not None else None
        if frame is None:
            return False
        try:
            self._send(frame)
        except Exception:  # the heartbeat sends it again within a period
            log.exception("relay heartbeat %s: trip send failed", self._name)
        log.warning("PLC %s: %s; relay commanded off at once, off the event loop", plc_id, why)
        return True

    def start(self) -> None:
        if self._thread is not None or not self.slots:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"relay-heartbeat {self._name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stops and joins the thread (no frame is sent by it afterwards)."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("relay heartbeat %s did not stop within %s s", self._name, timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        # Drift-free: slot k is due at start + k * step; the guns take turns, so that each gun's
        # frame leaves every period and the guns' frames spread over it.
        slots = list(self.slots)
        step = self._period / len(slots)
        start = time.monotonic()
        k = 0
        while True:
            due = start + k * step
            wait = due - time.monotonic()
            if self._stop.wait(wait) if wait > 0 else self._stop.is_set():
                return
            now = time.monotonic()
            if now - due > self._period:
                # More than a period late (the machine, not the loop, stalled the thread): frames
                # sent back-to-back would say nothing the next one does not; resume on the grid.
                behind = math.ceil((now - start) / step)
                self.skipped += behind - k
                k = behind
                continue
            frame = slots[k % len(slots)]._due(now, self._feed_timeout)
            k += 1
            if frame is None:
                continue
            try:
                self._send(frame)
            except Exception:  # the thread must outlive one bad send; the loop sees the bus fail
                log.exception("relay heartbeat %s: send failed", self._name)
            self.sent += 1
