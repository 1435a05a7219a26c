"""The GCMC_Command of one PLC: its slot's contactors (GC, MC, MN1/MN2, CW/CCW) and its gun's power
budget, as the planner's executor sets them, with the frame's GCMC_SEQ handshake.

The command goes out at once when it changes (a new GCMC_SEQ, mod 256), again every `resend_s`
(docs/can.md: on change + 1 s) so that a PLC that lost a frame or restarted catches up, and every
`retry_s` while the PLC has not acknowledged the current GCMC_SEQ in GCMC_Status'
LAST_GCMC_SEQ_APPLIED. A missing ack is not a fault of its own: the PLC's health is judged on the
RelayControl handshake, and the contactor feedback (what the executor waits for) tells whether the
command took effect.

Nothing is sent before the first command: a cabinet without a planner leaves the PLC's GC to
RelayControl alone, as before GCMC_Command existed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from voltyard.can.frames import GcmcCommand

# Every command bit is driven (GCMC_MASK bit i = GC, MC, MN1, MN2, CW, CCW).
ALL_CONTACTORS = 0x3F
_U16_MAX = 0xFFFF


@dataclass(frozen=True, slots=True)
class SlotCommand:
    """What one PLC is told: contactor targets (True = closed) and its gun's limits.

    Attributes:
        power_kw: The gun's power budget; the PLC keeps the gun at or below it (0 = no power).
        current_a: The gun's current limit.
        force_off: Open every contactor of the slot now, whatever else the frame says.
    """

    gc: bool = False
    mc: bool = False
    cw: bool = False
    ccw: bool = False
    mn: tuple[bool, bool] = (False, False)
    power_kw: float = 0.0
    current_a: float = 0.0
    force_off: bool = False


def _tenths(value: float) -> int:
    # Limits round down: twelve budgets of 41.67 kW rounded to 41.7 would exceed a 500 kW share.
    # The epsilon keeps 40.0 (399.99999... after the float product) from becoming 39.9.
    return max(0, min(_U16_MAX, math.floor(value * 10 + 1e-6)))


class GcmcCommander:
    __slots__ = (
        "_plc_id",
        "_power_deadband_kw",
        "_resend_s",
        "_retry_s",
        "_send",
        "_sent_at",
        "acked",
        "command",
        "frame",
        "seq",
    )

    def __init__(
        self,
        plc_id: int,
        send: Callable[[GcmcCommand], None],
        *,
        resend_s: float = 1.0,
        retry_s: float = 0.25,
        power_deadband_kw: float = 0.5,
    ) -> None:
        self._plc_id = plc_id
        self._send = send
        self._resend_s = resend_s
        self._retry_s = retry_s
        self._power_deadband_kw = power_deadband_kw
        self._sent_at = 0.0
        self.seq = 0
        self.acked = True
        self.command: SlotCommand | None = None
        self.frame: GcmcCommand | None = None

    def update(self, command: SlotCommand, now: float) -> bool:
        """Command the slot; a change is sent at once with a new GCMC_SEQ. A budget rise smaller
        than the deadband is not sent (the PLC keeps the slightly lower, safe, limit): an EV's
        demand jitters, and a frame per gun per tick would fill the bus for nothing. Returns
        whether a frame went out."""
        previous = self.command
        if (
            previous is not None
            and 0 < command.power_kw - previous.power_kw < self._power_deadband_kw
            and not command.force_off
        ):
            command = replace(command, power_kw=previous.power_kw)
        if command == previous:
            return False  # the usual case at 10 Hz: no frame to build
        frame = self._build(command)
        if self.frame is not None and _same_content(frame, self.frame):
            self.command = command
            return False
        self.command = command
        self.seq = (self.seq + 1) % 256
        self.frame = self._build(command)
        self.acked = False
        self._transmit(now)
        return True

    def periodic(self, now: float) -> None:
        """Called on the driver's 100 ms tick: the 1 s refresh and the retry of an unacked change."""
        if self.frame is None:
            return
        due = self._retry_s if not self.acked else self._resend_s
        if now - self._sent_at >= due:
            self._transmit(now)

    def on_status(self, last_gcmc_seq_applied: int) -> None:
        if self.frame is not None and last_gcmc_seq_applied == self.seq:
            self.acked = True

    def force_off(self, now: float) -> None:
        """Open the slot (the driver stops); only when a command was ever given."""
        if self.command is not None:
            self.update(SlotCommand(force_off=True), now)

    def _transmit(self, now: float) -> None:
        assert self.frame is not None
        self._sent_at = now
        self._send(self.frame)

    def _build(self, c: SlotCommand) -> GcmcCommand:
        return GcmcCommand(
            self._plc_id,
            gc_cmd=c.gc and not c.force_off,
            mc_cmd=c.mc and not c.force_off,
            mn1_cmd=c.mn[0] and not c.force_off,
            mn2_cmd=c.mn[1] and not c.force_off,
            cw_cmd=c.cw and not c.force_off,
            ccw_cmd=c.ccw and not c.force_off,
            gcmc_force_off=c.force_off,
            gcmc_seq=self.seq,
            gcmc_mask=ALL_CONTACTORS,
            pwr_limit_0p1kw=0 if c.force_off else _tenths(c.power_kw),
            cur_limit_0p1a=0 if c.force_off else _tenths(c.current_a),
        )


def _same_content(a: GcmcCommand, b: GcmcCommand) -> bool:
    # Everything but the sequence number, which only changes because the content did.
    return (
        a.gc_cmd == b.gc_cmd
        and a.mc_cmd == b.mc_cmd
        and a.mn1_cmd == b.mn1_cmd
        and a.mn2_cmd == b.mn2_cmd
        and a.cw_cmd == b.cw_cmd
        and a.ccw_cmd == b.ccw_cmd
        and a.gcmc_force_off == b.gcmc_force_off
        and a.pwr_limit_0p1kw == b.pwr_limit_0p1kw
        and a.cur_limit_0p1a == b.cur_limit_0p1a
    )
