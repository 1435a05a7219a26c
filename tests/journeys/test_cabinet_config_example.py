"""The DC cabinet configured from the documentation (issue 19): configs/cabinet-example.toml, as docs/can.md
tells an operator to run it, is accepted by `voltyard check-config`, which shows the whole cabinet, and a
`voltyard serve` with it runs the configured guns on simulated PLCs with their links up."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.journeys.appliance import RunningAppliance, voltyard

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "cabinet-example.toml"


def test_check_config_accepts_the_example_and_shows_the_whole_cabinet() -> None:
    result = voltyard("check-config", "--config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[cabinet]  # file" in out
    assert 'charge_point_id = "CABINET"  # file' in out
    assert 'interface = "virtual"  # file' in out
    assert "relay_period_s = 0.1  # file" in out
    assert out.count("[[cabinet.guns]]") == 4
    assert 'label = "Gun 3"  # file' in out
    # Every cabinet key is set by the example, so none of them is left at a silent default.
    cabinet_part = out.split("[cabinet]", 1)[1]
    values = [line for line in cabinet_part.splitlines() if " = " in line]
    assert values, out
    assert all(line.endswith("# file") for line in values), values
    assert tomllib.loads(out)["cabinet"] == tomllib.loads(EXAMPLE.read_text())["cabinet"]


def test_serve_with_the_example_runs_the_configured_guns_with_comm_ok(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=EXAMPLE.read_text())
    try:
        appliance.wait_for(
            lambda: all(g["comm_ok"] for g in appliance.api("GET", "/cabinet").json["guns"]),
            timeout=30,
            what="every gun's link up",
        )
        cabinet = appliance.api("GET", "/cabinet").json
        assert cabinet["configured"] is True
        assert cabinet["charge_point_id"] == "CABINET"
        guns = cabinet["guns"]
        assert [(g["name"], g["connector_id"], g["plc_id"], g["max_power_kw"]) for g in guns] == [
            ("Gun 1", 1, 0, 150.0),
            ("Gun 2", 2, 1, 150.0),
            ("Gun 3", 3, 2, 100.0),
            ("Gun 4", 4, 3, 100.0),
        ]
        assert all(g["comm_ok"] and g["safety_ok"] for g in guns), guns
    finally:
        assert appliance.stop() == 0


def test_a_bad_cabinet_key_stops_serve_with_one_line_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text(EXAMPLE.read_text().replace("plc_id = 3", "plc_id = 1"))
    result = voltyard("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"), timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"voltyard: {config}: cabinet.guns[3].plc_id: 1 is already used by guns[1]"
    ]
