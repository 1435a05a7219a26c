"""The cabinet's configuration: defaults, validation errors that name the key, plain-data loading."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from voltyard.can.config import BusConfig, CabinetConfig, DriverTiming, GunConfig, RingConfig
from voltyard.config import load_config
from voltyard.config_view import render_config
from voltyard.errors import CabinetConfigError, ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_defaults_follow_the_seed() -> None:
    config = CabinetConfig(guns=(GunConfig(connector_id=1, plc_id=0),))
    assert config.charge_point_id == "CABINET"
    assert (config.bus.interface, config.bus.bitrate) == ("socketcan", 125_000)
    t = config.timing
    assert (t.relay_period_s, t.ack_attempts, t.meter_stale_s) == (0.1, 3, 2.0)


@pytest.mark.parametrize(
    ("guns", "key", "problem"),
    [
        ((), "guns", "at least one gun"),
        ((GunConfig(connector_id=1, plc_id=16),), "guns[0].plc_id", "16 is not 0-15"),
        ((GunConfig(connector_id=0, plc_id=1),), "guns[0].connector_id", "0 is not >= 1"),
        (
            (GunConfig(connector_id=1, plc_id=2), GunConfig(connector_id=2, plc_id=2)),
            "guns[1].plc_id",
            "2 is already used by guns[0]",
        ),
        ((GunConfig(connector_id=1, plc_id=1, max_power_kw=float("nan")),), "guns[0].max_power_kw", "nan"),
    ],
)
def test_bad_guns_name_the_key(guns: tuple[GunConfig, ...], key: str, problem: str) -> None:
    with pytest.raises(CabinetConfigError, match=re.escape(problem)) as error:
        CabinetConfig(guns=guns)
    assert error.value.key == key
    assert str(error.value).startswith(f"{key}: ")


def test_bad_timing_and_bus_name_the_key() -> None:
    gun = (GunConfig(connector_id=1, plc_id=0),)
    with pytest.raises(CabinetConfigError, match=r"timing\.relay_period_s: must be <= 0\.2"):
        CabinetConfig(guns=gun, timing=DriverTiming(relay_period_s=0.5))
    with pytest.raises(CabinetConfigError, match=r"timing\.crc_burst: 0 is not a number > 0"):
        CabinetConfig(guns=gun, timing=DriverTiming(crc_burst=0))
    with pytest.raises(CabinetConfigError, match=r"bus\.bitrate: 5 is not"):
        BusConfig(bitrate=5)


def test_from_mapping() -> None:
    data: dict[str, Any] = {
        "charge_point_id": "SITE-DC",
        "bus": {"interface": "virtual", "channel": "demo"},
        "timing": {"meter_stale_s": 3, "crc_burst": 8},
        "guns": [{"connector_id": 1, "plc_id": 4, "label": "left"}, {"connector_id": 2, "plc_id": 5}],
    }
    config = CabinetConfig.from_mapping(data)
    assert config.charge_point_id == "SITE-DC"
    assert config.bus == BusConfig(interface="virtual", channel="demo")
    assert (config.timing.meter_stale_s, config.timing.crc_burst) == (3, 8)
    assert [g.plc_id for g in config.guns] == [4, 5]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"guns": [{"connector_id": 1, "plc_id": 0, "plcid": 1}]}, r"guns\[0\]\.plcid: unknown key"),
        ({"guns": [{"connector_id": 1, "plc_id": "0"}]}, r"guns\[0\]\.plc_id: expected an integer, got '0'"),
        (
            {"guns": [{"connector_id": 1, "plc_id": 0}], "bus": {"bitrate": 1.5}},
            r"bus\.bitrate: expected an integer, got 1\.5",
        ),
        ({"guns": {"connector_id": 1}}, r"guns: must be a list"),
        ({"guns": [{"connector_id": 1, "plc_id": 0}], "timing": []}, r"timing: must be a table"),
        ({"gun": []}, r"^gun: unknown key"),
    ],
)
def test_from_mapping_refuses_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CabinetConfigError, match=message):
        CabinetConfig.from_mapping(data)


# Every [cabinet] key through the file, as an operator writes it: (table, key, a good value, a bad value,
# what the error says), values as TOML text. Gun keys are set on the second gun, so the index is named.
KEY_CASES: list[tuple[str, str, str, str, str]] = [
    ("", "charge_point_id", '"SITE-DC"', '""', "'' is not 1-48 printable characters"),
    ("", "charge_point_id", '"SITE-DC"', '"' + "X" * 49 + '"', "is not 1-48 printable characters"),
    ("", "simulate_plcs", "true", '"yes"', "expected true or false, got 'yes'"),
    ("bus", "interface", '"virtual"', '""', "must not be empty"),
    ("bus", "channel", '"vcan0"', '""', "must not be empty"),
    ("bus", "bitrate", "250000", "5", "5 is not 10000-1000000"),
    ("bus", "bitrate", "1000000", "125000.0", "expected an integer, got 125000.0"),
    ("timing", "relay_period_s", "0.05", "0.5", "must be <= 0.2 (PLC watchdog ~0.3 s)"),
    ("timing", "relay_period_s", "0.2", "0", "0 is not a number > 0"),
    ("timing", "ack_timeout_s", "0.5", "-1", "-1 is not a number > 0"),
    ("timing", "ack_attempts", "5", "0", "0 is not a number > 0"),
    ("timing", "ack_attempts", "1", "2.5", "expected an integer, got 2.5"),
    ("timing", "meter_stale_s", "3", "0", "is not a number > 0"),
    ("timing", "comm_timeout_s", "2.0", "nan", "nan is not a number > 0"),
    ("timing", "crc_burst", "8", "0", "is not a number > 0"),
    ("timing", "crc_window_s", "2.0", '"1s"', "expected a number, got '1s'"),
    ("timing", "safety_assert_s", "0.05", "0", "is not a number > 0"),
    ("timing", "safety_release_s", "1.0", "inf", "inf is not a number > 0"),
    ("timing", "contactor_settle_s", "0.3", "0", "is not a number > 0"),
    ("timing", "config_timeout_s", "1.0", "0", "is not a number > 0"),
    ("timing", "bus_restart_s", "5.0", "-0.5", "is not a number > 0"),
    ("timing", "over_temperature_c", "85", "90.5", "expected an integer, got 90.5"),
    ("timing", "temperature_hysteresis_c", "3", "0", "is not a number > 0"),
    ("timing", "feed_timeout_s", "1.0", "0", "0 is not a number > 0"),
    ("timing", "feed_timeout_s", "1.0", "0.2", "must be >= 3 x relay_period_s (0.3 s)"),
    ("ring", "module_rating_kw", "25.0", "0", "0 is not a number > 0"),
    ("ring", "module_rating_kw", "40", '"30 kW"', "expected a number, got '30 kW'"),
    ("ring", "modules_per_slot", "1", "3", "3 is not 1 or 2 (the contract reports MOD1 and MOD2)"),
    ("ring", "modules_per_slot", "2", "1.5", "expected an integer, got 1.5"),
    ("ring", "connector_derating_start_c", "60.0", "inf", "inf is not a number"),
    ("ring", "connector_trip_c", "80.0", "65.0", "65.0 is not above connector_derating_start_c (70.0)"),
    ("ring", "module_derating_start_c", "65", "nan", "nan is not a number"),
    ("ring", "module_trip_c", "100.0", "70", "70 is not above module_derating_start_c (70.0)"),
    ("ring", "module_trip_c", "100.0", "nan", "nan is not a number > 0"),
    ("ring", "min_gain_kw", "0", "-1.0", "-1.0 is not a number >= 0"),
    ("guns[1]", "connector_id", "7", "0", "0 is not >= 1"),
    ("guns[1]", "connector_id", "7", "1", "1 is already used by guns[0]"),
    ("guns[1]", "plc_id", "15", "16", "16 is not 0-15"),
    ("guns[1]", "plc_id", "15", "0", "0 is already used by guns[0]"),
    ("guns[1]", "plc_id", "15", '"1"', "expected an integer, got '1'"),
    ("guns[1]", "label", '"Bay 2"', "2", "expected a string, got 2"),
    ("guns[1]", "max_current_a", "250", "0", "0 is not > 0"),
    ("guns[1]", "max_power_kw", "100.0", "-50.0", "-50.0 is not > 0"),
    ("guns[1]", "max_power_kw", "100.0", "nan", "nan is not > 0"),
    ("guns[1]", "max_voltage_v", "500.0", "inf", "inf is not > 0"),
    ("guns[1]", "require_lock", "false", "1", "expected true or false, got 1"),
]


def _cabinet_file(tmp_path: Path, table: str = "", key: str = "", value: str = "") -> Path:
    """A voltyard.toml with a two-gun cabinet, `key = value` in `table` ("", "bus", "timing", "guns[1]")."""
    tables = {"": ["simulate_plcs = false"], "bus": ['interface = "virtual"'], "timing": [], "ring": [],
              "guns[0]": [], "guns[1]": []}  # fmt: skip
    guns = {"guns[0]": {"connector_id": "1", "plc_id": "0"}, "guns[1]": {"connector_id": "2", "plc_id": "1"}}
    if table.startswith("guns"):
        guns[table][key] = value
    elif key:
        tables[table] = [line for line in tables[table] if not line.startswith(f"{key} =")] + [
            f"{key} = {value}"
        ]
    lines = ["[cabinet]", *tables[""], "[cabinet.bus]", *tables["bus"], "[cabinet.timing]", *tables["timing"]]
    lines += ["[cabinet.ring]", *tables["ring"]]
    for gun in guns.values():
        lines += ["[[cabinet.guns]]", *(f"{k} = {v}" for k, v in gun.items())]
    path = tmp_path / "site.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _value(config: CabinetConfig, table: str, key: str) -> object:
    if table.startswith("guns["):
        return getattr(config.guns[int(table[5:-1])], key)
    return getattr(getattr(config, table) if table else config, key)


def _dotted(table: str, key: str) -> str:
    return f"cabinet.{table}.{key}" if table else f"cabinet.{key}"


@pytest.mark.parametrize(("table", "key", "good", "bad", "problem"), KEY_CASES)
def test_every_cabinet_key_accepts_a_good_value_and_names_file_and_key_for_a_bad_one(
    tmp_path: Path, table: str, key: str, good: str, bad: str, problem: str
) -> None:
    config = load_config(_cabinet_file(tmp_path, table, key, good))
    assert config.cabinet is not None
    assert _value(config.cabinet, table, key) == tomllib.loads(f"v = {good}")["v"]
    path = _cabinet_file(tmp_path, table, key, bad)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: {_dotted(table, key)}: {problem}" or (
        str(error.value).startswith(f"{path}: {_dotted(table, key)}: ") and problem in str(error.value)
    ), str(error.value)


def test_the_key_cases_cover_every_cabinet_key() -> None:
    covered = {(table.split("[")[0], key) for table, key, *_ in KEY_CASES}
    expected = {("", "charge_point_id"), ("", "simulate_plcs")}
    expected |= (
        {("bus", f.name) for f in fields(BusConfig)}
        | {("timing", f.name) for f in fields(DriverTiming)}
        | {("ring", f.name) for f in fields(RingConfig)}
    )
    expected |= {("guns", f.name) for f in fields(GunConfig)}
    assert covered == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cabinet]\nguns = []\n", "cabinet.guns: at least one gun is needed"),
        ('[cabinet]\ncharge_point_id = "X"\n', "cabinet.guns: must be a list of tables"),
        ("cabinet = 3\n", "cabinet: must be a table ([cabinet])"),
        ("[cabinet]\nguns = [1]\n", "cabinet.guns[0]: must be a table"),
        ("[cabinet]\nbus = 1\nguns = [{ connector_id = 1, plc_id = 0 }]\n", "cabinet.bus: must be a table"),
        ("[cabinet]\nsimulate = true\nguns = [{ connector_id = 1, plc_id = 0 }]\n",
         "cabinet.simulate: unknown key"),
        ("[cabinet.bus]\nspeed = 1\n[[cabinet.guns]]\nconnector_id = 1\nplc_id = 0\n",
         "cabinet.bus.speed: unknown key"),
        ("[cabinet.timing]\nrelay_period = 0.1\n[[cabinet.guns]]\nconnector_id = 1\nplc_id = 0\n",
         "cabinet.timing.relay_period: unknown key"),
        ("[[cabinet.guns]]\nconnector_id = 1\nplcid = 0\n", "cabinet.guns[0].plcid: unknown key"),
        ("[[cabinet.guns]]\nconnector_id = 1\n", "cabinet.guns[0]: missing plc_id"),
    ],
)  # fmt: skip
def test_bad_cabinet_tables_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: {message}"), str(error.value)


def _every_key(config: CabinetConfig) -> set[str]:
    keys = {"charge_point_id", "simulate_plcs"}
    keys |= {f"bus.{f.name}" for f in fields(BusConfig)} | {f"timing.{f.name}" for f in fields(DriverTiming)}
    keys |= {f"ring.{f.name}" for f in fields(RingConfig)}
    return keys | {f"guns[i].{f.name}" for f in fields(GunConfig)}


def _keys_set(table: dict[str, Any]) -> set[str]:
    keys = {k for k, v in table.items() if not isinstance(v, dict | list)}
    for name in ("bus", "timing", "ring"):
        keys |= {f"{name}.{k}" for k in table.get(name, {})}
    return keys | {f"guns[i].{k}" for gun in table.get("guns", []) for k in gun}


def test_the_example_file_is_a_complete_working_cabinet() -> None:
    path = REPO / "configs" / "cabinet-example.toml"
    config = load_config(path)
    assert config.cabinet is not None
    assert config.cabinet.simulate_plcs
    assert config.cabinet.bus.interface == "virtual"  # runs without CAN hardware
    assert _keys_set(tomllib.loads(path.read_text())["cabinet"]) == _every_key(config.cabinet)


def test_voltyard_toml_shows_a_complete_cabinet_commented_out(tmp_path: Path) -> None:
    path = REPO / "configs" / "voltyard.toml"
    assert load_config(path).cabinet is None  # serve with the documented file needs no CAN hardware
    block = path.read_text().split("\n#[cabinet]\n", 1)[1]
    settings = "\n".join(line[1:] for line in block.splitlines() if re.match(r"#(\[|[a-z_])", line))
    uncommented = tmp_path / "voltyard.toml"
    uncommented.write_text("[cabinet]\n" + settings + "\n")
    config = load_config(uncommented)
    assert config.cabinet is not None
    assert config.cabinet.bus.interface == "socketcan"
    assert _keys_set(tomllib.loads(uncommented.read_text())["cabinet"]) == _every_key(config.cabinet)


def test_docs_can_md_lists_every_cabinet_key() -> None:
    text = (REPO / "docs" / "can.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_.\[\]]+)` \|", section, flags=re.MULTILINE))
    config = CabinetConfig(guns=(GunConfig(connector_id=1, plc_id=0),))
    assert documented == _every_key(config) | {"guns"}


def test_check_config_shows_the_cabinet_as_a_file_that_loads_back(tmp_path: Path) -> None:
    config = load_config(_cabinet_file(tmp_path, "guns[1]", "label", '"Bay 2"'))
    text = render_config(config)
    assert "[cabinet]  # file" in text
    assert 'interface = "virtual"  # file' in text
    assert 'channel = "can0"  # default' in text
    assert "relay_period_s = 0.1  # default" in text
    assert text.count("[[cabinet.guns]]") == 2
    assert 'label = "Bay 2"  # file' in text
    again = tmp_path / "effective.toml"
    again.write_text(text)
    assert load_config(again).cabinet == config.cabinet
