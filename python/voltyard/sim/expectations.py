"""Checking a scenario's expectations against what the simulator saw, each with a reason either way.

The simulator sees the central system only through its answers, so these are the charger-side facts:
every session it began was acknowledged at both ends, every fault it raised was acknowledged, every
message queued while offline was answered after the reconnect, every charger is online and booted at
the end, the connectors' total power stayed under the site limit; and the refusals a scenario asks for
(unknown tags refused, malformed frames answered with the right CALLERROR), and a firmware update
walked through its statuses. Tests add the server-side facts
(rows in the store) on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from voltyard.sim.scenario import ALL, Count, Expectations
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
    if expect.refused_tags is not None:
        results.append(_refused_tags(expect.refused_tags, facts))
    expected_errors = 0
    for code, count in expect.callerrors.items():
        result, got = _callerrors(code, count, facts)
        results.append(result)
        expected_errors += got if result.passed else 0
    if expect.firmware_updated:
        results.append(_firmware(facts))
    if expect.no_errors:
        # The CALLERRORs a scenario provoked on purpose (and got as expected) are not failures.
        errors = sum(facts.errors.values()) - expected_errors
        unexpected = {key: n for key, n in facts.errors.items() if _code(key) not in _expected(expect)}
        detail = (
            "no call failed" if not errors else f"{errors} calls failed: {unexpected or dict(facts.errors)}"
        )
        if expected_errors:
            detail += f" (besides {expected_errors} expected CALLERRORs)"
        results.append(ExpectationResult("no_errors", errors == 0, detail))
    return results


# A CALLERROR code's 1.6 and 2.x spellings: an expectation names either, and a mixed fleet gets both.
_SPELLINGS = {
    "FormationViolation": "FormatViolation",
    "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
}


def _canonical(code: str) -> str:
    return _SPELLINGS.get(code, code)


def _code(key: str) -> str:
    """The CALLERROR code of an error key `Action:Code` (a frame of the central system's: none)."""
    action, _, code = key.partition(":")
    return "" if action.startswith("server") else _canonical(code)


def _expected(expect: Expectations) -> set[str]:
    return {_canonical(code) for code in expect.callerrors}


def _refused_tags(count: Count, facts: RunFacts) -> ExpectationResult:
    c = facts.counters
    wanted = facts.planned_sessions if count == ALL else count
    # A session begun on a tag the central system then refused (StartTransaction or TransactionEvent
    # Started answered Invalid) counts as refused too, but it should not have started: begun == accepted.
    started_refused = c.sessions_begun - c.starts_accepted
    # "all" of nothing is a scenario that presented no tag: a mistake, not a pass.
    passed = (wanted > 0 or count != ALL) and c.starts_refused == wanted and started_refused == 0
    passed = passed and facts.idle
    detail = (
        f"{c.starts_refused} tags refused of {wanted} expected"
        f"{' (every tag presented)' if count == ALL else ''}; {c.sessions_begun} sessions begun, "
        f"{c.starts_accepted} on an accepted tag"
    )
    if c.starts_accepted and count == ALL:
        detail += " (tags accepted: is the central system's unknown-id-tag policy `reject`?)"
    if not facts.idle:
        detail += "; messages still queued or unanswered at the end"
    return ExpectationResult("refused_tags", passed, detail)


def _callerrors(code: str, count: Count, facts: RunFacts) -> tuple[ExpectationResult, int]:
    c = facts.counters
    wanted = c.malformed_sent if count == ALL else count
    got = sum(n for key, n in facts.errors.items() if _code(key) == _canonical(code))
    other = {
        key: n for key, n in facts.errors.items() if key.partition(":")[0] != "server" and _code(key) != ""
    }
    passed = (wanted > 0 or count != ALL) and got == wanted
    spelled = sorted({key.partition(":")[2] for key in facts.errors if _code(key) == _canonical(code)})
    named = code if spelled in ([], [code]) else f"{code} (as {', '.join(spelled)})"
    detail = f"{got} calls answered {named} of {wanted} expected; {c.malformed_sent} malformed frames sent"
    if not passed and other:
        detail += f"; CALLERRORs seen: {other}"
    return ExpectationResult(f"callerrors {code}", passed, detail), got


def _firmware(facts: RunFacts) -> ExpectationResult:
    c = facts.counters
    updates = c.firmware_updates
    passed = (
        updates > 0
        and c.firmware_statuses == 4 * updates
        and c.firmware_installed == updates
        and facts.booted == facts.chargers
    )
    detail = (
        f"{updates} UpdateFirmware accepted; {c.firmware_statuses} FirmwareStatusNotification answered "
        f"({4 * updates} expected: Downloading, Downloaded, Installing, Installed), "
        f"{c.firmware_installed} Installed; {facts.booted}/{facts.chargers} booted at the end"
    )
    if not updates:
        detail += (
            " (the central system sent no UpdateFirmware: send one, e.g. "
            "POST /api/v1/chargers/{id}/commands/UpdateFirmware)"
        )
    return ExpectationResult("firmware_updated", passed, detail)


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
