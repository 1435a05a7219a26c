"""The plan sink of the CAN cabinet: turns each tick's plan into one GCMC_Command per PLC (the slot's
contactors and its gun's power budget), following the plan's switching sequence (docs/planner.md,
"the executor's contract").

The planner recomputes the sequence every tick from the contactor feedback, so the executor keeps
no plan of its own: each tick it walks the sequence from the first step and stops at the first one
not finished.

- `ramp_down` is finished when every gun in it meters (nearly) nothing, and every module in it no
  longer carries load: the gun its slot feeds meters no more than its new budget, which the modules
  that stay on cover (the contract has no per-module setpoint, so a module's load is its gun's).
  Only a meter reading received after the ramp began counts (an older one may predate a rise); a gun
  whose relay is open counts as ramped, since nothing can flow through it.
- `open` and `close` are commanded in the tick that reaches them; the next tick's plan, computed
  from the new feedback, no longer lists what has switched.
- The contactors of steps not reached keep their present state (the opposite of their target), the
  guns of a ramp-up not reached stay at zero, and a gun whose new modules are not on yet stays at
  the setpoint it had: nothing switches under load, and no gun draws more than its modules give.

Every other gun runs at its budget at once, so a budget change (which only moves MN contactors) is
never held back by another gun's switching.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from voltyard._native import Plan, SlotTargets, Step
from voltyard.can.config import GunConfig
from voltyard.can.frames import MeterInstant, RelayStatus
from voltyard.can.gcmc import SlotCommand

ContactorKind = Literal["gc", "mc", "cw", "ccw", "mn"]


class SlotDriver(Protocol):
    """What the executor needs of a PLC driver (`voltyard.can.driver.PlcDriver`)."""

    @property
    def gun(self) -> GunConfig: ...

    @property
    def instant(self) -> MeterInstant | None: ...

    @property
    def instant_received_at(self) -> float | None: ...

    @property
    def relay_status(self) -> RelayStatus | None: ...

    def command_gcmc(self, command: SlotCommand) -> None: ...


class PlanExecutor:
    """Applies plans to the PLCs `drivers` (slot i = `drivers[i]`, whose gun is gun i).

    Args:
        drivers: One per slot, in the ring's order.
        clock: Loop time, the clock of the drivers' `instant_received_at`.
        tolerance_kw: How far above its ramp target a gun may meter and count as ramped (at least;
            2 % of the target when that is more, for the meter's own error).
    """

    def __init__(
        self, drivers: Sequence[SlotDriver], clock: Callable[[], float], *, tolerance_kw: float = 0.5
    ) -> None:
        self._drivers = tuple(drivers)
        self._clock = clock
        self._tolerance_kw = tolerance_kw
        self._ramp_since: dict[int, float] = {}
        self.setpoints_kw = [0.0] * len(self._drivers)
        """The power budget each gun's PLC was last given."""
        self.waiting: Literal["ramp_down", "open", "close"] | None = None
        """The step the executor is waiting on, None once the feedback matches the plan."""

    def apply(self, plan: Plan) -> None:
        now = self._clock()
        gun_plans = plan.guns
        targets = plan.slots
        sequence = plan.sequence
        if len(targets) != len(self._drivers) or len(gun_plans) != len(self._drivers):
            raise ValueError(
                f"plan for {len(targets)} slots and {len(gun_plans)} guns, cabinet of {len(self._drivers)}"
            )
        budgets = [g.budget_kw for g in gun_plans]
        feeds = {slot: gun for gun, g in enumerate(gun_plans) for slot in g.island}

        zero, reached = self._progress(sequence, feeds, budgets, now)
        held = {
            (slot, kind, module): closed for slot, kind, module, closed in _not_started(sequence[reached:])
        }
        capped: set[int] = set()
        for step in sequence[reached:]:
            if step.kind == "ramp_up":
                zero.update(step.guns)
                capped.update(feeds[slot] for slot, _module in step.modules if slot in feeds)

        for gun, budget in enumerate(budgets):
            if gun in zero:
                setpoint = 0.0
            elif gun in capped:
                setpoint = min(budget, self.setpoints_kw[gun])
            else:
                setpoint = budget
            self.setpoints_kw[gun] = setpoint

        for slot, (driver, target) in enumerate(zip(self._drivers, targets, strict=True)):
            driver.command_gcmc(
                _command(held, slot, target, self.setpoints_kw[slot], driver.gun.max_current_a)
            )

    def _progress(
        self, sequence: Sequence[Step], feeds: dict[int, int], budgets: list[float], now: float
    ) -> tuple[set[int], int]:
        """Walks the sequence to the first step not finished: the guns a ramp-down keeps at zero,
        and the index of the first step not started."""
        ramps: dict[int, float] = {}  # gun -> power to be at or below before anything switches
        zero: set[int] = set()
        self.waiting = None
        reached = len(sequence)
        for index, step in enumerate(sequence):
            if step.kind == "ramp_down":
                zero.update(step.guns)
                ramps.update(dict.fromkeys(step.guns, 0.0))
                for slot, _module in step.modules:
                    gun = feeds.get(slot)
                    if gun is not None and gun not in ramps:
                        ramps[gun] = budgets[gun]
                self._ramp_since = {gun: self._ramp_since.get(gun, now) for gun in ramps}
                if not all(self._ramped(gun, kw) for gun, kw in ramps.items()):
                    self.waiting, reached = "ramp_down", index + 1
                    break
            elif step.kind in ("open", "close"):
                # Commanded now; what follows waits for the feedback (the next tick's plan).
                self.waiting, reached = step.kind, index + 1
                break
        if not ramps:
            self._ramp_since.clear()
        return zero, reached

    def _ramped(self, gun: int, target_kw: float) -> bool:
        driver = self._drivers[gun]
        relay = driver.relay_status
        if relay is not None and not relay.rly1_fb:
            return True
        instant, at = driver.instant, driver.instant_received_at
        if instant is None or at is None or at <= self._ramp_since[gun]:
            return False
        tolerance = max(self._tolerance_kw, 0.02 * target_kw)
        return instant.active_power_0p01kw / 100 <= target_kw + tolerance


def _not_started(steps: Sequence[Step]) -> list[tuple[int, ContactorKind, int | None, bool]]:
    """The contactors of switching steps not started, at their present state: closed for an open
    step, open for a close step."""
    return [
        (slot, kind, module, step.kind == "open")
        for step in steps
        if step.kind in ("open", "close")
        for slot, kind, module in step.contactors
    ]


def _command(
    held: dict[tuple[int, ContactorKind, int | None], bool],
    slot: int,
    target: SlotTargets,
    power_kw: float,
    current_a: float,
) -> SlotCommand:
    def state(kind: ContactorKind, module: int | None, planned: bool) -> bool:
        return held.get((slot, kind, module), planned)

    # GCMC_Command drives MN1 and MN2; a slot of one module ([cabinet.ring] modules_per_slot = 1) keeps MN2
    # open.
    mn = [state("mn", index, closed) for index, closed in enumerate(target.mn)] + [False, False]
    return SlotCommand(
        gc=state("gc", None, target.gc),
        mc=state("mc", None, target.mc),
        cw=state("cw", None, target.cw),
        ccw=state("ccw", None, target.ccw),
        mn=(mn[0], mn[1]),
        power_kw=power_kw,
        current_a=current_a,
    )
