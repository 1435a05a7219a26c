"""Admission control: how fast chargers may connect and talk, who is locked out after failed logins, and how
much charger work one turn of the event loop may do.

(How fast they may boot is a domain decision: `voltyard.domain.boot_storm`.)

Token buckets everywhere (`voltyard._native.TokenBucket`): a rate sustained forever and a burst absorbed at
once. The clock is a parameter so that tests drive time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

# The per-message check, in the native module (a Python method cost a third of a microsecond per message).
from voltyard._native import TokenBucket
from voltyard.metrics import Metrics

__all__ = ["AuthThrottle", "LoopBudget", "TokenBucket"]

Clock = Callable[[], float]

log = logging.getLogger(__name__)


# The per-address flood guard trips at this many times the per-charger limit (and at least at _FLOOD_MIN):
# one NAT or APN gateway carries many chargers, each of which may fail a few times on its own.
_FLOOD_FACTOR = 20
_FLOOD_MIN = 100
_MAX_KEYS = 100_000  # bounded memory under a scan of many ids or addresses


class _Failures:
    """Failure times per key within a sliding window; a key is over once `limit` fall within `window`."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._times: dict[str, deque[float]] = {}

    def over(self, key: str) -> bool:
        times = self._times.get(key)
        if not times:
            return False
        horizon = self._clock() - self.window
        while times and times[0] < horizon:
            times.popleft()
        if not times:
            del self._times[key]
            return False
        return len(times) >= self.limit

    def add(self, key: str) -> None:
        self._times.setdefault(key, deque()).append(self._clock())
        if len(self._times) > _MAX_KEYS:
            del self._times[next(iter(self._times))]


class AuthThrottle:
    """Failed logins, counted per charger id and per source address.

    A charger id with `limit` failures within `window` seconds is locked out for the rest of the window, even
    with the right password (online guessing stops there). An address is only a flood guard, with a looser
    limit (`address_limit`): while it is over, logins from it that would need a slow password check are
    refused, but a charger presenting its right password (known by its keyed hash) still gets in, and
    profile-0 chargers are never checked at all. So one NAT or APN gateway is never a reason to lock out the
    chargers behind it.
    """

    def __init__(
        self, limit: int, window: float, clock: Clock = time.monotonic, *, address_limit: int | None = None
    ) -> None:
        self.limit = limit
        self.window = window
        self.address_limit = (
            max(limit * _FLOOD_FACTOR, _FLOOD_MIN) if address_limit is None else address_limit
        )
        self._by_charger = _Failures(limit, window, clock)
        self._by_address = _Failures(self.address_limit, window, clock)

    def charger_locked(self, charger_id: str) -> bool:
        """Whether this charger id is locked out after too many failed logins."""
        return self._by_charger.over(charger_id)

    def address_flooded(self, address: str) -> bool:
        """Whether this address sent so many failed logins that slow checks from it are refused."""
        return self._by_address.over(address)

    def failed(self, charger_id: str, address: str) -> None:
        """Count a failed login of `charger_id` from `address`."""
        self._by_charger.add(charger_id)
        self._by_address.add(address)


# Messages of admitted chargers handled per turn of the event loop before any is held (a turn may handle up
# to twice this: see LoopBudget.over): enough that a turn's fixed costs are spread thin, few enough that
# timers and new chargers' handshakes wait tens of milliseconds at most (20 µs a message).
LOOP_BUDGET = 500


class LoopBudget:
    """Bounded work per turn of the event loop, shared by every charger connection.

    Why: libuv (under uvloop) runs a turn's I/O callbacks for every socket its poll found ready before it
    runs a single timer or `call_soon` callback (and polls again at once, up to 48 times, while a poll comes
    back with a full batch of 1024). With thousands of busy chargers a turn handled every one of their
    messages while the loop monitor, the telemetry hand-over, call timeouts and the next step of every new
    charger's handshake waited: stalls of 0.8 to 1.4 s under a reconnect storm.

    Each message of an admitted charger spends one unit of `left`. When it runs out, `over` says whether
    this turn has had its share: the first time since the last refill it has not (the allowance may have
    been spent over many quiet turns), so a refill is scheduled for the next turn and the turn gets a
    fresh allowance; the second time it has. Then a connection with a message holds it, stops reading its
    socket (TCP pushes back on the charger, nothing queues in memory) and `defer`s its drain: the drains
    run in order at the next turn, after the timers, each spending from the refilled budget; what is left
    waits for the turn after. A paused socket is not polled, so the turn moves on. Below saturation this
    costs one decrement per message and one `call_soon` per `per_turn` messages.
    """

    __slots__ = ("_deferred", "_metrics", "_scheduled", "left", "per_turn")

    def __init__(self, per_turn: int = LOOP_BUDGET, metrics: Metrics | None = None) -> None:
        self.per_turn = per_turn
        self.left = per_turn
        self._metrics = metrics if metrics is not None else Metrics()
        self._deferred: deque[Callable[[], None]] = deque()
        self._scheduled = False

    @property
    def deferrals(self) -> int:
        """Drains deferred to a later turn so far (each a connection paused with a message held)."""
        return self._metrics.messages_deferred

    def over(self) -> bool:
        """`left` ran out: whether this turn has had its share (the caller holds its message and defers)."""
        if self._scheduled:  # a refill is due at the next turn: this turn has spent a full allowance
            return True
        self._schedule()
        self.left = self.per_turn
        return False

    def defer(self, drain: Callable[[], None]) -> None:
        """Run `drain` at a later turn, once the budget is refilled (in the order of deferral)."""
        self._metrics.messages_deferred += 1
        self._deferred.append(drain)
        if not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        self._scheduled = True
        asyncio.get_running_loop().call_soon(self._refill)

    def _refill(self) -> None:
        # A `call_soon` callback: it runs in the next turn, after that turn's due timers.
        self._scheduled = False
        self.left = self.per_turn
        deferred = self._deferred
        # Only the drains deferred before this turn: one that defers itself again waits for the next.
        for _ in range(len(deferred)):
            if self.left <= 0:
                break
            drain = deferred.popleft()
            try:
                drain()  # spends from `left`, and defers itself again if it runs out
            except Exception:  # one broken drain must not stop the others' (they would never resume)
                log.exception("a deferred charger drain failed")
        if deferred and not self._scheduled:
            self._schedule()
