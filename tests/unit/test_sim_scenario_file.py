"""TOML scenario files: a valid file plans deterministically; every bad key is named with its file."""

from __future__ import annotations

from pathlib import Path

import pytest
from voltyard.sim.errors import ScenarioError
from voltyard.sim.plan import charger_rng
from voltyard.sim.scenario import PlanContext
from voltyard.sim.scenario_file import load_scenario_file
from voltyard.sim.scenarios import BUILTIN, find_scenario

VALID = """
[scenario]
name = "lunch"
description = "a lunch-time peak"
duration = 100
site_limit_kw = 50

[settings]
MeterValueSampleInterval = 5
LocalPreAuthorize = true

[[sessions]]
connector = "each"
arrive = [0, "20%"]
charge = ["30%", "40%"]
unplug_after = 2
kw = [7.4, 22]
chance = 0.5

[[steps]]
at = "50%"
action = "fault"
connector = 1
code = "GroundFailure"

[[steps]]
at = 60
action = "offline"
seconds = [5, 10]

[expect]
sessions_complete = true
faults_reported = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def plan(scenario, index: int = 0, seed: int = 1):
    return scenario.plan(PlanContext(index, 10, 2, scenario.duration, 50.0), charger_rng(seed, index))


def test_a_valid_file_loads_and_plans(tmp_path: Path) -> None:
    scenario = load_scenario_file(write(tmp_path, VALID))
    assert scenario.name == "lunch"
    assert scenario.duration == 100
    assert scenario.site_limit_kw == 50
    assert scenario.settings == {"MeterValueSampleInterval": "5", "LocalPreAuthorize": "true"}
    assert scenario.expect.sessions_complete
    assert scenario.expect.faults_reported
    assert scenario.source == str(tmp_path / "scenario.toml")
    steps = plan(scenario)
    kinds = [step.kind for step in steps]
    assert "fault" in kinds
    assert "offline" in kinds
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    fault = next(s for s in steps if s.kind == "fault")
    assert fault.at == 50.0
    assert fault.code == "GroundFailure"
    offline = next(s for s in steps if s.kind == "offline")
    assert 5 <= offline.seconds <= 10
    for step in steps:
        if step.kind == "swipe":
            assert 0 <= step.at <= 20
            assert step.tag == f"SIM000000C{step.connector}"


def test_plans_depend_on_seed_and_index_only(tmp_path: Path) -> None:
    scenario = load_scenario_file(write(tmp_path, VALID))
    assert plan(scenario, 3, 9) == plan(scenario, 3, 9)
    assert any(plan(scenario, 3, seed) != plan(scenario, 3, 9) for seed in range(5))
    assert find_scenario(str(tmp_path / "scenario.toml")).name == "lunch"


def test_builtin_scenarios_plan_deterministically() -> None:
    for scenario in BUILTIN.values():
        first = [plan(scenario, index, 42) for index in range(5)]
        assert first == [plan(scenario, index, 42) for index in range(5)], scenario.name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scenario]\nnmae = 'x'\n", "[scenario] nmae: unknown key"),
        ("[scenario]\nduration = 0\n", "[scenario] duration: must be above 0"),
        ("[scenario]\nduration = 'long'\n", "[scenario] duration: expected a number"),
        ("[oops]\n", "oops: unknown key"),
        (
            "[settings]\nHeartbeatIntervall = 5\n",
            "[settings] HeartbeatIntervall: not an OCPP 1.6 configuration key",
        ),
        ("[settings]\nHeartbeatInterval = 'x'\n", "[settings] HeartbeatInterval: expected an integer"),
        ("[[sessions]]\narrive = 1\n", "[[sessions]] #1: charge: required key is missing"),
        ("[[sessions]]\narrive = 1\ncharge = '5 min'\n", "[[sessions]] #1 charge"),
        ("[[sessions]]\narrive = [1, 2, 3]\ncharge = 1\n", "[[sessions]] #1 arrive: a range is [low, high]"),
        ("[[sessions]]\narrive = 1\ncharge = 1\nconnector = 0\n", "[[sessions]] #1 connector"),
        (
            "[[sessions]]\narrive = 1\ncharge = 1\nchance = 2\n",
            "[[sessions]] #1 chance: must be between 0 and 1",
        ),
        ("[[sessions]]\narrive = 1\ncharge = 1\ntag = '{who}'\n", "[[sessions]] #1 tag"),
        ("[[steps]]\nat = 1\naction = 'explode'\n", "[[steps]] #1 action: expected one of"),
        ("[[steps]]\naction = 'drop'\n", "[[steps]] #1: at: required key is missing"),
        ("[[steps]]\nat = 1\naction = 'fault'\ncode = 'Smoke'\n", "[[steps]] #1 code"),
        ("[[steps]]\nat = 1\naction = 'offline'\n", "[[steps]] #1: seconds: required"),
        ("[expect]\nsessions_completed = true\n", "[expect] sessions_completed: unknown key"),
        ("[expect]\nall_back = 1\n", "[expect] all_back: expected true or false"),
        ("[scenario\n", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as refused:
        load_scenario_file(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)


def test_unknown_names_and_missing_files() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        find_scenario("nope")
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        find_scenario("/nonexistent/x.toml")
