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
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from voltyard.can.frames import RelayControl

log = logging.getLogger(__name__)


class HeartbeatSlot:
    """One gun's place in the heartbeat: the frame the loop wants sent, and when it last said so."""

    __slots__ = ("_fed_at", "_forced", "_frame", "_lapse", "_lock", "plc_id")

    def __init__(self, plc_id: int) -> None:
        self.plc_id = plc_id
        self._lock = threading.Lock()
        self._frame: RelayControl | None = None
        self._fed_at = 0.0
        self._forced: RelayControl | None = None  # what the thread sends while the feed has lapsed
        self._lapse: RelayControl | None = None  # a force-off the loop has not been told of yet

    def feed(self, frame: RelayControl) -> RelayControl | None:
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

    def take_lapse(self) -> RelayControl | None:
        """The force-off frame the thread sent since the loop last asked, if any (then forgets it)."""
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
                self._forced = RelayControl(
                    frame.plc_id,
                    rly1_cmd=False,
                    sys_enable=frame.sys_enable,
                    force_all_off=True,
                    clear_faults=False,
                    auth_grant=False,
                    cmd_seq=(frame.cmd_seq + 1) % 256,
                    rly_enable_mask=frame.rly_enable_mask,
                )
                self._lapse = self._forced
                log.error(
                    "PLC %s: no RelayControl from the controller for %.1f s; relays commanded off",
                    self.plc_id,
                    now - self._fed_at,
                )
            return self._forced or frame


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
        return slot

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
