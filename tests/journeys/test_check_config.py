"""`voltyard check-config`: the configuration `serve` would run with, and where each value came from."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.journeys.appliance import voltyard


def test_check_config_shows_each_value_and_its_source(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text('[server]\nhost = "127.0.0.1"\nport = 19123\n[store]\nevents_max_age_days = 7.0\n')
    result = voltyard("check-config", "--config", str(config), "--api-port", "18181")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"(file: {config})" in out
    assert 'host = "127.0.0.1"  # file' in out
    assert "port = 19123  # file" in out
    assert "api_port = 18181  # flag --api-port" in out
    assert 'api_host = "127.0.0.1"  # default' in out
    assert "events_max_age_days = 7.0  # file" in out
    assert "heartbeat_interval = 300  # default" in out
    assert "# cert_file is not set  # default" in out
    # What it prints is a voltyard.toml: kept as a file, it gives the same configuration.
    parsed = tomllib.loads(out)
    assert parsed["server"]["api_port"] == 18181
    again = tmp_path / "effective.toml"
    again.write_text(out)
    rerun = voltyard("check-config", "--config", str(again))
    assert rerun.returncode == 0, rerun.stderr
    assert "api_port = 18181  # file" in rerun.stdout


def test_check_config_without_a_file_shows_the_defaults() -> None:
    result = voltyard("check-config")
    assert result.returncode == 0, result.stderr
    assert "(file: none)" in result.stdout
    assert "port = 9000  # default" in result.stdout
    assert "events_max_rows = 1000000  # default" in result.stdout


def test_check_config_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text('[server]\nport = "nine"\n')
    result = voltyard("check-config", "--config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"voltyard: {config}: server.port: expected an integer, got 'nine'"]


def test_check_config_loads_the_tls_material(tmp_path: Path) -> None:
    (tmp_path / "server.crt").write_text("not a certificate\n")
    (tmp_path / "server.key").write_text("not a key\n")
    config = tmp_path / "voltyard.toml"
    config.write_text('[security]\ncert_file = "server.crt"\nkey_file = "server.key"\n')
    result = voltyard("check-config", "--config", str(config))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "cert_file" in result.stderr
