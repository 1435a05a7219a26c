"""Checking a scenario's expectations against what the simulator saw, each with a reason either way.

The simulator sees the central system only through its answers, so these are the charger-side facts:
every session it began was acknowledged at both ends, every fault it raised was acknowledged, every
message queued while offline was answered after the reconnect, every charger is online and booted at
the end, the connectors' total power stayed under the site limit. Tests add the server-side facts
(rows in the store) on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from voltyard.sim.scenario import Expectations
from voltyard.sim.stats import Counters, TimelinePoint

__all__ = ["ExpectationResult", "RunFacts", "check"]


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the expectations are checked against, taken once the run has settled."""

    chargers: int
    planned_sessions: int
    planned_faults: int
    online: int
    booted: int
    idle: bool
    counters: Counters
    errors: Mapping[str, int]
    timeline: tuple[TimelinePoint, ...]
    site_limit_kw: float
    site_limit_known: bool = True  # False: an assumption of the simulator, not the appliance's limit


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    name: str
    passed: bool
    detail: str


def check(expect: Expectations, facts: RunFacts) -> list[ExpectationResult]:
    """Every expectation the scenario asks for, in a fixed order."""
    results = []
    if expect.sessions_complete:
        results.append(_sessions(facts))
    if expect.faults_reported:
        results.append(_faults(facts))
    if expect.replay_complete:
        results.append(_replay(facts))
    if expect.all_back:
        results.append(_all_back(facts))
    if expect.site_limit:
        results.append(_site_limit(facts))
    if expect.no_errors:
        errors = sum(facts.errors.values())
        detail = "no call failed" if not errors else f"{errors} calls failed: {dict(facts.errors)}"
        results.append(ExpectationResult("no_errors", errors == 0, detail))
    return results


def _sessions(facts: RunFacts) -> ExpectationResult:
    c = facts.counters
    detail = (
        f"{c.sessions_begun} sessions begun of {facts.planned_sessions} planned; {c.starts_accepted} starts "
        f"accepted, {c.starts_refused} refused; {c.sessions_ended} ended, {c.stops_answered} stops answered"
    )
    passed = (
        facts.planned_sessions > 0
        and c.sessions_begun >= facts.planned_sessions
        and c.starts_accepted == c.sessions_begun
        and c.sessions_ended == c.sessions_begun
        and c.stops_answered == c.sessions_ended
        and facts.idle
    )
    if c.starts_refused:
        detail += " (refused tags: is the central system's unknown-id-tag policy `accept`?)"
    if not facts.idle:
        detail += "; messages still queued or unanswered at the end"
    return ExpectationResult("sessions_complete", passed, detail)


def _faults(facts: RunFacts) -> ExpectationResult:
    c = facts.counters
    passed = 0 < facts.planned_faults == c.faults_injected == c.faults_reported
    detail = (
        f"{c.faults_injected} faults injected of {facts.planned_faults} planned, {c.faults_reported} reported"
    )
    return ExpectationResult("faults_reported", passed, detail)


def _replay(facts: RunFacts) -> ExpectationResult:
    c = facts.counters
    passed = c.offline_queued > 0 and c.replayed_answered == c.offline_queued and facts.idle
    detail = (
        f"{c.offline_queued} transaction messages queued offline, {c.replayed_answered} answered on replay"
    )
    return ExpectationResult("replay_complete", passed, detail)


def _all_back(facts: RunFacts) -> ExpectationResult:
    c = facts.counters
    passed = facts.online == facts.booted == facts.chargers
    detail = (
        f"{facts.online}/{facts.chargers} online and {facts.booted} booted at the end; "
        f"{c.disconnects} disconnects, {c.connects} connects, {c.connect_failures} failed attempts"
    )
    return ExpectationResult("all_back", passed, detail)


def _site_limit(facts: RunFacts) -> ExpectationResult:
    limit = facts.site_limit_kw
    loaded = [point for point in facts.timeline if point.sessions > 0]
    if not loaded:
        return ExpectationResult("site_limit", False, "no second with a session running: nothing to check")
    peak = max(loaded, key=lambda point: point.site_power_kw)
    over = [point for point in loaded if point.site_power_kw > limit * 1.0005]
    detail = (
        f"site total peaked at {peak.site_power_kw:.1f} kW (t={peak.t:.0f} s) against {limit:.1f} kW; "
        f"{len(over)} of {len(loaded)} seconds over"
    )
    if not facts.site_limit_known:
        detail += " (an assumed limit: pass --site-limit-kw with the appliance's)"
    if over and facts.counters.profiles_accepted == 0:
        detail += "; no SetChargingProfile was received (is a power manager running?)"
    return ExpectationResult("site_limit", not over, detail)
