"""voltyard.toml parsing: defaults, overrides, and errors that name the file and the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from voltyard.cli import main
from voltyard.config import Config, load_config, source_of
from voltyard.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_documents_the_defaults() -> None:
    shipped = load_config(ROOT / "configs" / "voltyard.toml")
    defaults = load_config(None)
    for section in ("server", "ocpp", "store"):
        assert getattr(shipped, section) == getattr(defaults, section), section


def test_overrides_beat_the_file(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('[server]\nport = 9100\ndata_dir = "data"\n[ocpp]\nunknown_charger = "pending"\n')
    config = load_config(path, {"server": {"port": 9200, "host": None}})
    assert config.server.port == 9200
    assert config.server.host == "0.0.0.0"
    assert config.server.data_dir == tmp_path / "data"  # relative to the file
    assert config.ocpp.unknown_charger == "pending"
    assert dataclasses.is_dataclass(config)
    assert isinstance(config, Config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = 'x'\n", "server.port: expected an integer, got 'x'"),
        ("[server]\nport = 70000\n", "server.port: 70000 is outside 0..65535"),
        ("[ocpp]\nunknown_charger = 'maybe'\n", "ocpp.unknown_charger: 'maybe' is not one of"),
        ("[ocpp]\nheartbeat = 3\n", "ocpp.heartbeat: unknown key"),
        ("[gateway]\n", "unknown section [gateway]"),
        ("[store]\ntelemetry_commit_interval = 5\n", "store.telemetry_commit_interval: 5.0 is outside"),
        ("[ocpp]\nvalidate_outgoing = 1\n", "ocpp.validate_outgoing: expected true or false"),
        ("server = 3\n", "server: must be a table"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_serve_exits_2_on_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[ocpp]\ncall_timeout = 'soon'\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert "ocpp.call_timeout: expected a number" in capsys.readouterr().err


def test_serve_rejects_a_bad_port_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "99999"])
    assert exited.value.code == 2
    assert "port 99999 is outside 0..65535" in capsys.readouterr().err


def test_a_flag_left_out_leaves_the_files_value(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('[server]\nhost = "127.0.0.1"\nport = 19123\napi_port = 18181\ndata_dir = "site"\n')
    left_out = {"server": {"host": None, "port": None, "api_port": None, "data_dir": None}}
    config = load_config(path, left_out)
    assert (config.server.host, config.server.port, config.server.api_port) == ("127.0.0.1", 19123, 18181)
    assert config.server.data_dir == tmp_path / "site"
    assert source_of(config, "server.port") == "file"
    assert source_of(config, "server.api_host") == "default"


def test_a_bad_value_in_the_file_is_refused_even_when_no_flag_is_given(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('[server]\nport = "nine"\n')
    with pytest.raises(ConfigError, match=r"server\.port: expected an integer, got 'nine'"):
        load_config(path, {"server": {"port": None, "host": None}})


def test_sources_name_file_flag_and_default(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text("[server]\nport = 9100\n[ocpp]\nheartbeat_interval = 60\n")
    config = load_config(path, {"server": {"port": 9200, "host": None}})
    assert source_of(config, "server.port") == "flag"
    assert source_of(config, "ocpp.heartbeat_interval") == "file"
    assert source_of(config, "server.host") == "default"


def test_relative_data_dir_is_absolute_from_a_relative_config_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "v.toml").write_text('[server]\ndata_dir = "site"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("etc/v.toml"))
    assert config.server.data_dir == tmp_path / "etc" / "site"


def test_tls_material_must_be_readable(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('[security]\ncert_file = "a.crt"\nkey_file = "a.key"\n')
    with pytest.raises(ConfigError, match=r"security\.cert_file: .*a\.crt: No such file"):
        load_config(path)
    path.write_text('[security]\ncert_file = "a.crt"\n')
    with pytest.raises(ConfigError, match=r"security\.key_file: missing"):
        load_config(path)


def test_retention_limits_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text(
        "[store]\nevents_max_rows = 10\nevents_max_age_days = 1.5\nmeter_values_max_age_days = 0\n"
    )
    store = load_config(path).store
    assert (store.events_max_rows, store.events_max_age_days, store.meter_values_max_age_days) == (
        10,
        1.5,
        0.0,
    )


def test_ocpp_versions_default_to_all_three_and_can_be_limited(tmp_path: Path) -> None:
    assert load_config(None).ocpp.versions == ("1.6", "2.0.1", "2.1")
    path = tmp_path / "v.toml"
    path.write_text('[ocpp]\nversions = ["1.6", "2.0.1"]\n')
    assert load_config(path).ocpp.versions == ("1.6", "2.0.1")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ('["1.6", "3.0"]', r"ocpp\.versions: unknown version '3\.0' \(known: 1\.6, 2\.0\.1, 2\.1\)"),
        ("[]", r"ocpp\.versions: empty: no charger could connect"),
        ('"2.0.1"', r"ocpp\.versions: expected a list of strings"),
    ],
)
def test_bad_ocpp_versions_are_refused_naming_the_key(tmp_path: Path, value: str, error: str) -> None:
    path = tmp_path / "v.toml"
    path.write_text(f"[ocpp]\nversions = {value}\n")
    with pytest.raises(ConfigError, match=error):
        load_config(path)
