"""The RelayControl command of one gun and its CMD_SEQ handshake.

The command goes out every 100 ms (the PLC's watchdog needs it) with the same CMD_SEQ until it
changes, not from here but from the bus's heartbeat thread (`voltyard.can.heartbeat`), which the
commander feeds with its latest frame on every change and every `periodic` call. Each change takes
the next CMD_SEQ (mod 256) and must come back in RelayStatus' LAST_CMD_SEQ_APPLIED. Without it,
the command is sent again out of cycle after `ack_timeout_s`, then after twice that, and so on
(backoff); after `ack_attempts` transmissions the ack is missing, which the driver turns into a
fault. The periodic frames keep carrying the command meanwhile, so a
PLC that comes back applies it and its ack clears the condition.

When the relay was commanded off without the loop (the heartbeat, because the loop stopped feeding
it; the bus's reader thread, on a safety fault), the commander adopts that command and its CMD_SEQ at
its next feed and says so, with the cause, through `take_lapsed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from voltyard.can.frames import RelayControl
from voltyard.can.heartbeat import HeartbeatSlot, Lapse


@dataclass(frozen=True, slots=True)
class RelayCommand:
    """The command bits of RelayControl."""

    close: bool = False
    enable: bool = True
    force_off: bool = False
    clear_faults: bool = False
    auth_grant: bool = False


class RelayCommander:
    __slots__ = (
        "_ack_attempts",
        "_ack_timeout_s",
        "_attempt",
        "_lapsed",
        "_loop",
        "_on_ack_missing",
        "_on_ack_restored",
        "_plc_id",
        "_send",
        "_slot",
        "_timer",
        "ack_missing",
        "acked",
        "acked_at",
        "command",
        "frame",
        "seq",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        plc_id: int,
        send: Callable[[RelayControl], None],
        *,
        ack_timeout_s: float,
        ack_attempts: int,
        on_ack_missing: Callable[[int], None],
        on_ack_restored: Callable[[], None],
        slot: HeartbeatSlot | None = None,
    ) -> None:
        self._loop = loop
        self._plc_id = plc_id
        self._send = send
        self._ack_timeout_s = ack_timeout_s
        self._ack_attempts = ack_attempts
        self._on_ack_missing = on_ack_missing
        self._on_ack_restored = on_ack_restored
        self._timer: asyncio.TimerHandle | None = None
        self._attempt = 0
        self.seq = 0
        self.command = RelayCommand(enable=False)
        self.acked = True
        self.acked_at = loop.time()  # when the PLC acknowledged the current command
        self.ack_missing = False
        self.frame = self._build()
        # Without a heartbeat (a driver under test alone) the periodic frames go nowhere.
        self._slot = slot or HeartbeatSlot(plc_id)
        self._lapsed: Lapse | None = None
        self._slot.feed(self.frame)

    def update(self, urgent: bool = False, **changes: bool) -> bool:
        """Change the command bits; a change takes a new CMD_SEQ. `urgent` sends it at once (a
        fault opening the gun) instead of with the next periodic frame. Returns whether it changed."""
        # A force-off the heartbeat sent took a CMD_SEQ: this change must take the one after it.
        self._adopt(self._slot.take_lapse())
        command = replace(self.command, **changes)
        if command == self.command:
            return False
        self.command = command
        self.seq = (self.seq + 1) % 256
        self.frame = self._build()
        self.acked = False
        self._attempt = 1
        self._arm(self._ack_timeout_s)
        self._feed()
        if urgent:
            self._send(self.frame)
        return True

    def periodic(self) -> None:
        """Tells the heartbeat the command still stands (it opens the relay when this stops)."""
        self._feed()

    def take_lapsed(self) -> Lapse | None:
        """Why the relay was commanded off without the loop since the last call, if it was (the loop
        had stopped feeding the heartbeat; a safety trip); the command is now that relay-off."""
        self._adopt(self._slot.take_lapse())
        lapsed, self._lapsed = self._lapsed, None
        return lapsed

    def on_status(self, last_cmd_seq_applied: int) -> None:
        if self.acked or last_cmd_seq_applied != self.seq:
            return
        self.acked = True
        self.acked_at = self._loop.time()
        self._cancel()
        if self.ack_missing:
            self.ack_missing = False
            self._on_ack_restored()

    def close(self) -> None:
        self._cancel()

    def _feed(self) -> None:
        forced = self._slot.feed(self.frame)
        if forced is not None:
            self._adopt(forced)
            self._slot.feed(self.frame)

    def _adopt(self, taken: tuple[RelayControl, Lapse] | None) -> None:
        if taken is None:
            return
        forced, cause = taken
        self.command = replace(
            self.command, close=False, force_off=True, clear_faults=False, auth_grant=False
        )
        self.seq = forced.cmd_seq
        self.frame = self._build()
        self.acked = False
        self._attempt = 1
        self._arm(self._ack_timeout_s)
        # A feed timeout is the graver news (the controller was gone): it is not hidden by a trip.
        if self._lapsed is not Lapse.FEED_TIMEOUT:
            self._lapsed = cause

    def _build(self) -> RelayControl:
        c = self.command
        return RelayControl(
            self._plc_id,
            rly1_cmd=c.close and not c.force_off,
            sys_enable=c.enable,
            force_all_off=c.force_off,
            clear_faults=c.clear_faults,
            auth_grant=c.auth_grant,
            cmd_seq=self.seq,
            rly_enable_mask=0x01,
        )

    def _arm(self, delay: float) -> None:
        self._cancel()
        self._timer = self._loop.call_later(delay, self._expired)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._attempt >= self._ack_attempts:
            if not self.ack_missing:
                self.ack_missing = True
                self._on_ack_missing(self.seq)
            return
        self._attempt += 1
        self._send(self.frame)
        self._arm(self._ack_timeout_s * 2 ** (self._attempt - 1))
