"""One rebalance's plan: the fair shares of the site limit, and the lowerings and raisings that reach them.

Pure: it reads the sessions (and sets each one's `target_kw`), sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from voltyard.power.session import Session
from voltyard.power.sharing import FairShare, Step, max_min_fair, split_changes

__all__ = ["CABINET", "Key", "plan_round"]

CABINET = "cabinet"  # the cabinet's key among the claimants (sessions are keyed (charger, connector))
Key = tuple[str, int] | str


def plan_round(
    sessions: list[Session],
    measured: Mapping[tuple[str, int], float | None],
    limit_kw: float,
    *,
    cabinet_demand_kw: float,
    cabinet_share_kw: float,
    deadband_kw: float,
) -> tuple[FairShare[Key], list[Step[Key]], list[Step[Key]]]:
    """The fair shares, and the lowerings and raisings that reach them from the limits in force.

    Fixed loads come off the top: sessions not following their limits (at what they are metered at),
    and those a new limit cannot reach (their last command failed; at what they may draw). The other
    sessions and the cabinet share the rest max-min fair. A session too new for its first profile is
    planned at its share like the others: reserving its maximum until then would starve everyone
    whenever sessions start together under a tight limit (docs/power.md, "New sessions").
    """
    reserved = {s.key: s.effective_kw(measured.get(s.key)) for s in sessions if s.fixed}
    budget = limit_kw - sum(reserved.values())
    caps: dict[Key, float] = {s.key: s.cap_kw for s in sessions if s.key not in reserved}
    caps[CABINET] = cabinet_demand_kw
    fair = max_min_fair(budget, caps)
    targets: dict[Key, float] = dict(fair.shares)
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
