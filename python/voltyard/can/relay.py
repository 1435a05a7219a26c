"""The RelayControl command of one gun and its CMD_SEQ handshake.

The command goes out every 100 ms (the PLC's watchdog needs it) with the same CMD_SEQ until it
changes; each change takes the next CMD_SEQ (mod 256) and must come back in RelayStatus'
LAST_CMD_SEQ_APPLIED. Without it, the command is sent again out of cycle after `ack_timeout_s`,
then after twice that, and so on (backoff); after `ack_attempts` transmissions the ack is missing,
which the driver turns into a fault. The periodic frames keep carrying the command meanwhile, so a
PLC that comes back applies it and its ack clears the condition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from voltyard.can.frames import RelayControl


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
        "_loop",
        "_on_ack_missing",
        "_on_ack_restored",
        "_plc_id",
        "_send",
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

    def update(self, urgent: bool = False, **changes: bool) -> bool:
        """Change the command bits; a change takes a new CMD_SEQ. `urgent` sends it at once (a
        fault opening the gun) instead of with the next periodic frame. Returns whether it changed."""
        command = replace(self.command, **changes)
        if command == self.command:
            return False
        self.command = command
        self.seq = (self.seq + 1) % 256
        self.frame = self._build()
        self.acked = False
        self._attempt = 1
        self._arm(self._ack_timeout_s)
        if urgent:
            self._send(self.frame)
        return True

    def periodic(self) -> None:
        self._send(self.frame)

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
