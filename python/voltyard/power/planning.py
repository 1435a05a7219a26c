"""One rebalance's plan: the fair shares of the site limit, and the lowerings and raisings that reach them.

Pure: it reads the sessions (and sets each one's `target_kw`), sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voltyard.power.session import Session
from voltyard.power.sharing import FairShare, Step, max_min_fair, split_changes

__all__ = ["CABINET", "CabinetGun", "Claimant", "Key", "plan_round"]

CABINET = "cabinet"  # the cabinet's key among the steps (sessions are keyed (charger, connector))
Key = tuple[str, int] | str


@dataclass(frozen=True, slots=True)
class CabinetGun:
    """One cabinet gun among the claimants of the fair share: a gun's session is a session like a
    charger's, so each gun claims its own demand. The cabinet is handed the sum of its guns' shares
    (one step, `CABINET`), and its planner splits that between the guns as max-min fair as the site did."""

    index: int


Claimant = Key | CabinetGun


def plan_round(
    sessions: list[Session],
    measured: Mapping[tuple[str, int], float | None],
    limit_kw: float,
    *,
    cabinet_demand_kw: float | Sequence[float],
    cabinet_share_kw: float,
    deadband_kw: float,
) -> tuple[FairShare[Claimant], list[Step[Key]], list[Step[Key]]]:
    """The fair shares, and the lowerings and raisings that reach them from the limits in force.

    Fixed loads come off the top: sessions not following their limits (at what they are metered at),
    and those a new limit cannot reach (their last command failed; at what they may draw). The other
    sessions and the cabinet's guns share the rest max-min fair: `cabinet_demand_kw` per gun (each gun
    one claimant capped at its demand), or one figure for a cabinet that is one claimant. A session
    too new for its first profile is planned at its share like the others: reserving its maximum until
    then would starve everyone whenever sessions start together under a tight limit (docs/power.md,
    "New sessions").
    """
    reserved = {s.key: s.effective_kw(measured.get(s.key)) for s in sessions if s.fixed}
    budget = limit_kw - sum(reserved.values())
    caps: dict[Key, float] = {s.key: s.cap_kw for s in sessions if s.key not in reserved}
    guns: dict[Claimant, float] = (
        {CABINET: cabinet_demand_kw}
        if isinstance(cabinet_demand_kw, float | int)
        else {CabinetGun(i): demand for i, demand in enumerate(cabinet_demand_kw)}
    )
    fair = max_min_fair(budget, {**caps, **guns})
    targets: dict[Key, float] = {key: fair.shares[key] for key in caps}
    targets[CABINET] = sum(fair.shares[gun] for gun in guns)
    caps[CABINET] = sum(guns.values())
    for s in sessions:
        if s.key in reserved:  # still asked for what it would get, never above what is reserved for it
            targets[s.key] = min(s.cap_kw, fair.level, reserved[s.key])
        s.target_kw = targets[s.key]
    current: dict[Key, float] = {s.key: s.assumed_kw for s in sessions}
    current[CABINET] = cabinet_share_kw
    must_send = frozenset(s.key for s in sessions if s.confirmed_kw is None or s.uncertain)
    free_current = {k: current[k] for k in caps}
    free_targets = {k: targets[k] for k in caps}
    lower, raises = split_changes(budget, free_current, free_targets, deadband_kw, must_send=must_send)
    # A fixed load's limit does not change what is reserved for it: it goes with the lowerings.
    lower += [
        Step(k, current[k], targets[k])
        for k in reserved
        if k in must_send or abs(targets[k] - current[k]) > deadband_kw
    ]
    return fair, lower, raises
