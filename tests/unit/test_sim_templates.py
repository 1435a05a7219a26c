"""Station templates and fleet files: the examples load, and every bad option names file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from voltyard.sim.templates import TemplateError, load_fleet, load_template

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

GOOD = """
[identity]
vendor = "ACME"
model = "Pillar"

[[connectors]]
type = "Type2"
max_kw = 11
phases = 3
"""


def _write(tmp_path: Path, text: str, name: str = "station.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_fleet_and_its_templates_load() -> None:
    fleet = load_fleet(CONFIGS / "sim-fleet.toml")
    assert fleet.chargers == 4
    prefixes = [prefix for prefix, _ in fleet.templates()]
    assert prefixes == ["AC", "AC", "AC", "DC"]
    ac = fleet.groups[0].template
    assert ac.vendor == "Alpitronic"
    assert [c.max_kw for c in ac.connectors] == [22.0, 22.0]
    assert ac.start_settings()["MeterValueSampleInterval"] == "10"
    assert ac.start_settings()["HeartbeatInterval"] == "120"
    assert ac.serial_for("AC00002") == "AC22-AC00002"


def test_a_good_template_gets_defaults(tmp_path: Path) -> None:
    template = load_template(_write(tmp_path, GOOD))
    assert template.name == "station"
    assert template.firmware == "sim-1.0"
    assert template.measurands == ("Energy.Active.Import.Register", "Power.Active.Import")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("max_kw = 11", "max_kw = -7"), "[[connectors]] #1 max_kw: must be above 0"),
        (GOOD.replace("max_kw = 11", "max_kw = '11 kW'"), "max_kw: expected a number, got '11 kW'"),
        (GOOD.replace("phases = 3", "phases = 0"), "[[connectors]] #1 phases: must be within 1..3, got 0"),
        (GOOD.replace("[[connectors]]", "[[connectors]]\nid = 0"), "#1 id: must be within 1..32, got 0"),
        (GOOD.replace('type = "Type2"', 'type = "Type9"'), "#1 type: unknown connector type 'Type9'"),
        (GOOD + "colour = 'red'\n", "[[connectors]] #1 unknown key 'colour'"),
        (GOOD + "[lights]\n", "unknown key 'lights'"),
        (GOOD.replace("ACME", "V" * 21), "[identity] vendor: at most 20 characters"),
        (GOOD + "[meter]\nnoise = 0.9\n", "[meter] noise: must be within 0..0.5"),
        (GOOD + "[meter]\nmeasurands = ['SoC']\n", "[meter] measurands: unknown measurand 'SoC'"),
        (GOOD + "[meter]\nsample_interval = 0\n", "[meter] sample_interval: must be within 1..3600, got 0"),
        (GOOD + "[auth]\nid_tags = ['" + "T" * 21 + "']\n", "[auth] id_tags: at most 20 characters"),
        (GOOD + "[settings]\nHeartBeat = 5\n", "[settings] HeartBeat: not an OCPP 1.6 configuration key"),
        (GOOD + "[settings]\nNumberOfConnectors = 5\n", "[settings] NumberOfConnectors: read-only"),
        (GOOD + "[settings]\nLocalPreAuthorize = 'yes'\n", "true or false, got 'yes'"),
        ("[identity\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_bad_template_is_refused_naming_file_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert str(caught.value).startswith(f"{path}: "), caught.value
    assert message in str(caught.value)


def test_a_bad_fleet_file_names_the_entry(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    cases = {
        "[[stations]]\ntemplate = 'station.toml'\ncount = 0\n": "#1 count: must be within 1..100000, got 0",
        "[[stations]]\ntemplate = 'nope.toml'\n": "[[stations]] #1 template: no such file",
        "[[stations]]\ntemplate = 'station.toml'\nid_prefix = 'A B'\n": "#1 id_prefix: letters, digits",
        "[[stations]]\ncount = 2\n": "[[stations]] #1: missing key 'template'",
        "[fleet]\n": "[[stations]]: expected at least one",
    }  # fmt: skip
    for text, message in cases.items():
        path = _write(tmp_path, text, "fleet.toml")
        with pytest.raises(TemplateError) as caught:
            load_fleet(path)
        assert str(caught.value).startswith(f"{path}: "), caught.value
        assert message in str(caught.value), caught.value


def test_a_bad_template_named_by_a_fleet_names_the_template_file(tmp_path: Path) -> None:
    bad = _write(tmp_path, GOOD.replace("max_kw = 11", "max_kw = -1"))
    fleet = _write(tmp_path, "[[stations]]\ntemplate = 'station.toml'\ncount = 2\n", "fleet.toml")
    with pytest.raises(TemplateError, match=f"^{bad}: \\[\\[connectors\\]\\] #1 max_kw: must be above 0"):
        load_fleet(fleet)
