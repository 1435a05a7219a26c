"""Expectations of refusals (refused_tags, callerrors) and of a firmware update, and their TOML form."""

from __future__ import annotations

from pathlib import Path

import pytest
from voltyard.sim.errors import ScenarioError
from voltyard.sim.expectations import ExpectationResult, RunFacts, check
from voltyard.sim.plan import charger_rng
from voltyard.sim.scenario import ALL, Expectations, PlanContext
from voltyard.sim.scenario_file import load_scenario_file
from voltyard.sim.scenarios import BUILTIN, UNKNOWN_TAG_PREFIX
from voltyard.sim.stats import Counters


def facts(counters: Counters, errors: dict[str, int], *, planned: int = 4, booted: int = 2) -> RunFacts:
    return RunFacts(
        chargers=2,
        planned_sessions=planned,
        planned_faults=0,
        online=2,
        booted=booted,
        idle=True,
        counters=counters,
        errors=errors,
        timeline=(),
        site_limit_kw=100.0,
    )


def by_name(results: list[ExpectationResult]) -> dict[str, ExpectationResult]:
    return {result.name: result for result in results}


AUTH = Expectations(refused_tags=ALL, callerrors={"FormationViolation": ALL})


def test_every_tag_refused_and_every_malformed_frame_answered_passes_in_either_spelling() -> None:
    for code in ("FormationViolation", "FormatViolation"):
        counters = Counters(starts_refused=4, malformed_sent=2)
        results = by_name(check(AUTH, facts(counters, {f"Heartbeat:{code}": 2})))
        assert all(result.passed for result in results.values()), results
        assert results["no_errors"].detail == "no call failed (besides 2 expected CALLERRORs)"


def test_an_accepted_unknown_tag_fails_and_says_why() -> None:
    counters = Counters(starts_refused=0, starts_accepted=4, sessions_begun=4, malformed_sent=2)
    result = by_name(check(AUTH, facts(counters, {"Heartbeat:FormationViolation": 2})))["refused_tags"]
    assert not result.passed
    assert "0 tags refused of 4 expected" in result.detail
    assert "unknown-id-tag policy `reject`" in result.detail


def test_a_session_begun_on_a_refused_tag_fails() -> None:
    # StartTransaction answered Invalid: refused, but a session was begun on it.
    counters = Counters(starts_refused=4, sessions_begun=1, malformed_sent=2)
    result = by_name(check(AUTH, facts(counters, {"Heartbeat:FormationViolation": 2})))["refused_tags"]
    assert not result.passed
    assert "1 sessions begun, 0 on an accepted tag" in result.detail


def test_a_malformed_frame_accepted_or_answered_with_another_code_fails() -> None:
    counters = Counters(starts_refused=4, malformed_sent=2)
    results = by_name(check(AUTH, facts(counters, {"Heartbeat:GenericError": 1})))
    assert not results["callerrors FormationViolation"].passed
    assert (
        "0 calls answered FormationViolation of 2 expected" in results["callerrors FormationViolation"].detail
    )
    assert "GenericError" in results["callerrors FormationViolation"].detail
    assert not results["no_errors"].passed  # the unexpected CALLERROR is an error


def test_a_fixed_count_and_an_unexpected_error_beside_the_expected_ones() -> None:
    expect = Expectations(refused_tags=3, callerrors={"TypeConstraintViolation": 1})
    counters = Counters(starts_refused=3, malformed_sent=1, call_errors=2)
    errors = {"Authorize:TypeConstraintViolation": 1, "Heartbeat:Timeout": 1}
    results = by_name(check(expect, facts(counters, errors)))
    assert results["refused_tags"].passed
    assert results["callerrors TypeConstraintViolation"].passed
    assert not results["no_errors"].passed
    assert "{'Heartbeat:Timeout': 1}" in results["no_errors"].detail


def test_zero_refusals_is_an_expectation_but_all_of_nothing_is_not() -> None:
    none = Expectations(refused_tags=0, callerrors={"ProtocolError": 0})
    results = by_name(check(none, facts(Counters(starts_accepted=4, sessions_begun=4), {})))
    assert results["refused_tags"].passed
    assert results["callerrors ProtocolError"].passed
    results = by_name(check(AUTH, facts(Counters(), {}, planned=0)))
    assert not results["refused_tags"].passed
    assert not results["callerrors FormationViolation"].passed


def test_firmware_update_needs_the_whole_sequence_and_a_reboot() -> None:
    expect = Expectations(firmware_updated=True)
    done = Counters(firmware_updates=2, firmware_statuses=8, firmware_installed=2)
    assert by_name(check(expect, facts(done, {})))["firmware_updated"].passed
    short = Counters(firmware_updates=2, firmware_statuses=6, firmware_installed=1)
    assert not by_name(check(expect, facts(short, {})))["firmware_updated"].passed
    assert not by_name(check(expect, facts(done, {}, booted=1)))["firmware_updated"].passed
    none = by_name(check(expect, facts(Counters(), {})))["firmware_updated"]
    assert not none.passed
    assert "sent no UpdateFirmware" in none.detail


def test_auth_failure_plans_unknown_tags_and_one_malformed_frame_per_charger() -> None:
    scenario = BUILTIN["auth_failure"]
    steps = scenario.plan(PlanContext(3, 5, 2, scenario.duration, 50.0), charger_rng(1, 3))
    swipes = [step for step in steps if step.kind == "swipe"]
    assert sorted(step.tag for step in swipes) == [
        f"{UNKNOWN_TAG_PREFIX}000003C1",
        f"{UNKNOWN_TAG_PREFIX}000003C2",
    ]
    assert [step.kind for step in steps].count("malformed") == 1
    assert BUILTIN["firmware_update"].expect.firmware_updated


def write(tmp_path: Path, expect: str) -> Path:
    path = tmp_path / "refusals.toml"
    path.write_text(f'[[steps]]\nat = 1\naction = "malformed"\n\n[expect]\n{expect}\n', encoding="utf-8")
    return path


def test_a_scenario_file_expects_refusals(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'refused_tags = "all"\ncallerrors = {"FormatViolation" = 2, "ProtocolError" = "all"}'
    )
    expect = load_scenario_file(path).expect
    assert expect.refused_tags == ALL
    assert expect.callerrors == {"FormatViolation": 2, "ProtocolError": ALL}
    assert expect.no_errors


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("refused_tags = -1", '[expect] refused_tags: expected a count (0 or more) or "all", got -1'),
        ("refused_tags = true", '[expect] refused_tags: expected a count (0 or more) or "all", got True'),
        ('refused_tags = "some"', '[expect] refused_tags: expected a count (0 or more) or "all", got'),
        (
            'callerrors = "FormationViolation"',
            "[expect] callerrors: expected a table of CALLERROR code = count",
        ),
        ('callerrors = {"Nope" = 1}', "[expect] callerrors Nope: not a CALLERROR code"),
        ('callerrors = {"GenericError" = -1}', "[expect] callerrors GenericError: expected a count"),
        ("sessions_complete = 1", "[expect] sessions_complete: expected true or false, got 1"),
    ],
)
def test_a_bad_refusal_expectation_names_the_file_and_key(tmp_path: Path, expect: str, message: str) -> None:
    path = write(tmp_path, expect)
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    assert str(caught.value).startswith(f"{path}: "), caught.value
    assert message in str(caught.value)
