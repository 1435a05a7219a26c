"""[power] in voltyard.toml: every key docs/power.md documents is accepted, and bad values are refused with
the file and the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
from voltyard.config import load_config
from voltyard.config_view import render_config
from voltyard.errors import ConfigError
from voltyard.power.config import PowerConfig
from voltyard.power.profiles import RateUnit

ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path: Path, power: str) -> PowerConfig:
    path = tmp_path / "site.toml"
    path.write_text(f"[power]\nenabled = true\n{power}\n")
    return load_config(path).power


def test_documented_per_charger_keys_and_rate_units_are_accepted(tmp_path: Path) -> None:
    power = _load(
        tmp_path,
        'charger_max_kw = {"CP-1" = 11, "CP-2" = 7.4}\n'
        'rate_unit = {unit = "A", voltage_v = 400, phases = 1}\n'
        'rate_units = {"CP-3" = {unit = "W"}}\n',
    )
    assert power.charger_max_kw == {"CP-1": 11.0, "CP-2": 7.4}
    assert power.cap_kw("CP-1") == 11.0
    assert power.cap_kw("CP-9") == 22.0
    assert power.rate_unit == RateUnit("A", 400.0, 1)
    assert power.rate_units == {"CP-3": RateUnit("W")}


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('rate_unit = {unit = "kW"}', "site.toml: power.rate_unit.unit: 'kW' is not one of 'W', 'A'"),
        ('rate_unit = "W"', "power.rate_unit: expected a table {unit = ..., voltage_v = ..., phases"),
        ('rate_unit = {unit = "A", volts = 3}', "site.toml: power.rate_unit.volts: unknown key"),
        ('rate_units = {"CP-7" = {phases = 4}}', "site.toml: power.rate_units.CP-7: bad electrical figures"),
        ('rate_units = {"CP-7" = {phases = "3"}}', "power.rate_units.CP-7.phases: expected an integer"),
        ('charger_max_kw = {"CP-1" = "eleven"}', "site.toml: power.charger_max_kw.CP-1: expected a number"),
        ("charger_max_kw = 11", "site.toml: power.charger_max_kw: expected a table, got 11"),
        ("chargers_max_kw = {}", "power.chargers_max_kw: unknown key (known: enabled, rebalance"),
    ],
)
def test_bad_power_values_name_the_file_and_the_key(tmp_path: Path, line: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, line)
    assert error in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_check_config_prints_power_settings_that_load_back(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[power]\ncharger_max_kw = {"CP-1" = 11.0}\nrate_units = {"CP-3" = {unit = "W"}}\n')
    config = load_config(path)
    printed = render_config(config)
    assert 'rate_units = {"CP-3" = {unit = "W", voltage_v = 230.0, phases = 3}}  # file' in printed
    again = tmp_path / "printed.toml"
    again.write_text(printed)
    assert load_config(again).power == config.power


def test_shipped_config_holds_the_power_defaults() -> None:
    assert load_config(ROOT / "configs" / "voltyard.toml").power == PowerConfig()
