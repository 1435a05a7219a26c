"""[power] as docs/power.md documents it: per-charger maxima and rate units are taken by `check-config` (and
so by `serve`, which loads the same way), and a bad rate unit stops it with one line naming the key."""

from __future__ import annotations

from pathlib import Path

from tests.journeys.appliance import voltyard


def test_check_config_takes_the_documented_power_keys(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        "[power]\nenabled = true\n"
        'charger_max_kw = {"CP-1" = 11.0}\n'
        'rate_unit = {unit = "A", voltage_v = 400.0, phases = 1}\n'
        'rate_units = {"CP-2" = {unit = "W"}}\n'
    )
    result = voltyard("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert 'charger_max_kw = {"CP-1" = 11.0}  # file' in result.stdout
    assert 'rate_unit = {unit = "A", voltage_v = 400.0, phases = 1}  # file' in result.stdout
    assert 'rate_units = {"CP-2" = {unit = "W", voltage_v = 230.0, phases = 3}}  # file' in result.stdout


def test_a_bad_rate_unit_is_one_line_naming_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[power]\nrate_units = {"CP-2" = {unit = "kW"}}\n')
    result = voltyard("check-config", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"voltyard: {config}: power.rate_units.CP-2.unit: 'kW' is not one of 'W', 'A'"
    ]
