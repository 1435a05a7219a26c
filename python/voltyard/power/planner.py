"""The 100 ms planner tick: every period, read the live cabinet, plan with `voltyard._native.plan`,
hand the plan to the drivers and publish it.

Ticks fall on absolute deadlines (`start + k * period`, scheduled with `call_at`), so they do not
drift with the time each tick takes. A tick that wakes after the next deadline has passed skips the
deadlines it missed (counting them) rather than running them back to back: a plan for a moment
already gone is worth nothing, the next one replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from voltyard._native import Plan, plan
from voltyard.errors import PlannerError
from voltyard.power.cabinet import CabinetState
from voltyard.power.snapshot import PlannerSettings, PlannerSnapshot

log = logging.getLogger(__name__)

PERIOD_S = 0.1


class PlanSink(Protocol):
    """Applies plans to the cabinet: the drivers' GCMC_Command and power setpoints, following the
    plan's switching sequence step by step (each finished before the next)."""

    def apply(self, plan: Plan) -> None: ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The part of the event loop the tick uses; tests pass a fake one to drive time."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object], /) -> Cancellable: ...


@dataclass(frozen=True, slots=True)
class PlanPublished:
    """A tick's plan, as published to subscribers (the TUI's ring view, the event log).

    Attributes:
        tick: The tick's number since start, counting missed ticks: its deadline is
            `started_at + tick * period`.
        deadline: The tick's deadline, in the clock's time.
        missed: Ticks missed since start (woke after a later deadline had passed).
        snapshot: What the planner read.
        plan: What it decided.
    """

    tick: int
    deadline: float
    missed: int
    snapshot: PlannerSnapshot
    plan: Plan


class PlannerTick:
    """Runs the planner every `period_s` on a clock (the event loop) until stopped.

    Args:
        cabinet: The live cabinet state.
        sink: Where plans are applied.
        settings: The planner's settings.
        clock: The event loop (or a fake in tests).
        publish: Called with each plan after it was handed to the sink.
        period_s: The tick period.
        cabinet_share_kw: The cabinet's share of the site limit until `set_cabinet_share`.
    """

    def __init__(
        self,
        cabinet: CabinetState,
        sink: PlanSink,
        settings: PlannerSettings,
        clock: Clock,
        publish: Callable[[PlanPublished], None],
        *,
        period_s: float = PERIOD_S,
        cabinet_share_kw: float = 0.0,
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        self._cabinet = cabinet
        self._sink = sink
        self._settings = settings
        self._clock = clock
        self._publish = publish
        self._period = period_s
        self._share_kw = cabinet_share_kw
        self._previous: Plan | None = None
        self._started_at = 0.0
        self._tick = 0
        self._missed = 0
        self._failed = 0
        self._handle: Cancellable | None = None

    @property
    def missed_ticks(self) -> int:
        """Deadlines skipped because a tick woke after the next one had passed."""
        return self._missed

    @property
    def failed_ticks(self) -> int:
        """Ticks whose snapshot the planner refused."""
        return self._failed

    @property
    def running(self) -> bool:
        return self._handle is not None

    def set_cabinet_share(self, kw: float) -> None:
        """The power manager's new share for the cabinet; the next tick plans with it."""
        self._share_kw = kw

    def start(self) -> None:
        """First tick now, then every period."""
        if self._handle is not None:
            raise RuntimeError("the planner tick is already running")
        self._started_at = self._clock.time()
        self._tick = 0
        self._handle = self._clock.call_at(self._started_at, self._on_deadline)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def snapshot(self) -> PlannerSnapshot:
        """The planner's input now: the live cabinet, the current share and the settings."""
        return PlannerSnapshot(
            slots=tuple(self._cabinet.slots),
            guns=tuple(self._cabinet.guns),
            cabinet_share_kw=self._share_kw,
            settings=self._settings,
        )

    def _deadline(self, tick: int) -> float:
        # Multiplying from the start, not adding periods up, keeps rounding from drifting.
        return self._started_at + tick * self._period

    def _on_deadline(self) -> None:
        self._run_tick()
        now = self._clock.time()
        following = self._tick + 1
        if now >= self._deadline(following):
            late = int((now - self._deadline(following)) // self._period) + 1
            self._missed += late
            following += late
        self._tick = following
        if self._handle is not None:  # not stopped by a subscriber
            self._handle = self._clock.call_at(self._deadline(following), self._on_deadline)

    def _run_tick(self) -> None:
        snapshot = self.snapshot()
        try:
            result = plan(snapshot, self._previous)
        except PlannerError as e:
            # Nothing is applied: the drivers keep the last plan, and their own fault handling
            # (and the PLC's 300 ms RelayControl timeout) opens what must be opened.
            self._failed += 1
            self._previous = None
            log.error("planner tick %d refused its snapshot: %s", self._tick, e)
            return
        self._previous = result
        try:
            self._sink.apply(result)
        except Exception:
            log.exception("plan sink failed at tick %d", self._tick)
        event = PlanPublished(self._tick, self._deadline(self._tick), self._missed, snapshot, result)
        try:
            self._publish(event)
        except Exception:
            log.exception("plan subscriber failed at tick %d", self._tick)
