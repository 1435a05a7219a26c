"""Max-min fair sharing of a power budget, and the split of a plan into the lowering and raising steps.

Both are pure functions of numbers so that the site power manager's arithmetic can be checked without
chargers, clocks or an event loop.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["EPSILON_KW", "FairShare", "Step", "fit_raises", "max_min_fair", "split_changes"]

K = TypeVar("K", bound=Hashable)

# Floating-point slack when comparing sums of kW: far below any deadband, far above rounding error.
EPSILON_KW = 1e-6


@dataclass(frozen=True, slots=True)
class FairShare(Generic[K]):
    """What `max_min_fair` decided.

    Attributes:
        shares: Each claimant's share (kW), at most its cap.
        level: The water level: every claimant not held down by its cap got exactly this much
            (infinity when the budget covers every cap).
    """

    shares: dict[K, float]
    level: float


def max_min_fair(budget_kw: float, caps: Mapping[K, float]) -> FairShare[K]:
    """Max-min fair shares of `budget_kw` between claimants capped at `caps` (water-filling).

    No claimant can get more without taking from one that has less; the shares never sum above the
    budget (a negative budget counts as 0). Claimants are served smallest cap first, so one whose cap
    lies below the fair level leaves the rest of its equal part to the others.
    """
    remaining = max(0.0, budget_kw)
    ordered = sorted(caps.items(), key=lambda item: max(0.0, item[1]))
    shares: dict[K, float] = {}
    level = math.inf
    for served, (key, cap) in enumerate(ordered):
        fair = remaining / (len(ordered) - served)
        if max(0.0, cap) >= fair:
            level = fair
        give = min(max(0.0, cap), fair)
        shares[key] = give
        remaining = max(0.0, remaining - give)
    return FairShare({key: shares[key] for key in caps}, level)


@dataclass(frozen=True, slots=True)
class Step(Generic[K]):
    """One claimant's change from the limit assumed in force (`current`) to `target` (kW)."""

    key: K
    current: float
    target: float


def split_changes(
    budget_kw: float,
    current: Mapping[K, float],
    targets: Mapping[K, float],
    deadband_kw: float,
    *,
    must_send: frozenset[K] = frozenset(),
) -> tuple[list[Step[K]], list[Step[K]]]:
    """The lowerings and the raisings that move `current` towards `targets`, deadband applied.

    A change within the deadband is skipped (it is not worth a command), unless skipping it would leave
    the sum of limits above the budget: then every skipped lowering is made after all. Claimants in
    `must_send` change whatever the deadband (e.g. a new session without any profile yet). A claimant's
    step is a lowering when its target is not above its current limit: lowerings go first, raisings
    only into the room the lowerings actually made (see `fit_raises`).
    """
    lower: list[Step[K]] = []
    raise_: list[Step[K]] = []
    skipped_lower: list[Step[K]] = []
    planned = 0.0
    for key, target in targets.items():
        now = current[key]
        step = Step(key, now, target)
        if key not in must_send and abs(target - now) <= deadband_kw:
            planned += now
            if target < now:
                skipped_lower.append(step)
            continue
        planned += target
        (lower if target <= now else raise_).append(step)
    if planned > budget_kw + EPSILON_KW:
        lower.extend(skipped_lower)
    return lower, raise_


def fit_raises(room_kw: float, raises: list[Step[K]]) -> list[Step[K]]:
    """The raisings cut down to fit `room_kw`: each gets the same fraction of the raise it asked for.

    Used after the lowerings, with the room computed from what the chargers confirmed: a lowering that
    failed leaves less room, and the raisings shrink so that the sum of limits still holds.
    """
    wanted = sum(step.target - step.current for step in raises)
    if wanted <= max(0.0, room_kw) + EPSILON_KW:
        return list(raises)
    fraction = max(0.0, room_kw) / wanted
    return [
        Step(step.key, step.current, step.current + (step.target - step.current) * fraction)
        for step in raises
        if fraction > 0.0
    ]
