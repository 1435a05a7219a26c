"""`[uplink]` (voltyard.config.UplinkConfig): what works together is taken, what cannot is refused at start
with the file and the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
from voltyard.config import load_config
from voltyard.errors import ConfigError


def test_no_uplink_by_default() -> None:
    assert not load_config(None).uplink.enabled


def test_a_full_uplink_is_taken(tmp_path: Path) -> None:
    (tmp_path / "keys.txt").write_text("# per charge point\nCP-1 secret-1\n* shared\n")
    (tmp_path / "ca.pem").write_text("not checked until the handshake")
    config = load_config(
        _write(
            tmp_path,
            """
[uplink]
url = "wss://csms.example/ocpp"
chargers = ["CP-1", "CABINET"]
security_profile = 2
password_file = "keys.txt"
passwords = {"CP-2" = "two"}
ca_file = "ca.pem"
backoff_min = 2.0
backoff_max = 30.0
""",
        )
    )
    uplink = config.uplink
    assert uplink.enabled
    assert uplink.chargers == ("CP-1", "CABINET")
    assert uplink.goes_upstream("CABINET")
    assert not uplink.goes_upstream("CP-9")
    assert uplink.password_file == tmp_path / "keys.txt", "relative to the file"
    assert uplink.passwords == {"CP-2": "two"}


def test_all_is_the_one_string_chargers_takes(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, '[uplink]\nurl = "ws://h/ocpp"\nchargers = "all"\n'))
    assert config.uplink.goes_upstream("anything")
    with pytest.raises(ConfigError, match=r"uplink\.chargers: expected a list of strings, got 'some'"):
        load_config(_write(tmp_path, '[uplink]\nurl = "ws://h/ocpp"\nchargers = "some"\n'))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('url = "http://csms/ocpp"', "uplink.url: 'http://csms/ocpp' is not a ws:// or wss:// URL"),
        ('url = "ws://"', "uplink.url: 'ws://' is not a ws:// or wss:// URL"),
        ('url = "ws://h"\nocpp = "2.0.1"', "uplink.ocpp: '2.0.1' is not one of '1.6'"),
        (
            'url = "ws://h"\nsecurity_profile = 2\npasswords = {"*" = "x"}',
            "uplink.security_profile: profile 2 needs a wss:// url",
        ),
        (
            'url = "ws://h"\nsecurity_profile = 1',
            "uplink.passwords: security profile 1 needs passwords or password_file",
        ),
        (
            'url = "wss://h"\nsecurity_profile = 3',
            "uplink.cert_file: security profile 3 needs cert_file and key_file",
        ),
        ('url = "ws://h"\nsecurity_profile = 4', "uplink.security_profile: 4 is outside 0..3"),
        (
            'url = "ws://h"\nbackoff_min = 9.0\nbackoff_max = 3.0',
            "uplink.backoff_min: 9 is above uplink.backoff_max (3)",
        ),
        ('url = "ws://h"\nca_file = "missing.pem"', "uplink.ca_file: "),
        ('url = "ws://h"\nretry = 1', "uplink.retry: unknown key"),
        ('url = "ws://h"\nchargers = []', 'uplink.chargers: expected "all" or a list of charge point ids'),
    ],
)
def test_a_misconfigured_uplink_names_the_key(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, f"[uplink]\n{body}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: {message}"), str(raised.value)


def test_a_bad_password_file_line_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "keys.txt").write_text("CP-1 ok\nCP-2\n")
    path = _write(tmp_path, '[uplink]\nurl = "ws://h"\nsecurity_profile = 1\npassword_file = "keys.txt"\n')
    with pytest.raises(
        ConfigError, match=r"uplink\.password_file: .*keys\.txt:2: expected `chargePointId password`"
    ):
        load_config(path)


def test_check_config_shows_the_uplink_but_not_its_keys(tmp_path: Path) -> None:
    from voltyard.config_view import render_config  # noqa: PLC0415 - the view of this config only

    path = _write(
        tmp_path, '[uplink]\nurl = "ws://h/ocpp"\nsecurity_profile = 1\npasswords = {"CP-1" = "s3cret"}\n'
    )
    shown = render_config(load_config(path))
    assert 'url = "ws://h/ocpp"  # file' in shown
    assert 'passwords = {"CP-1" = "********"}  # file' in shown
    assert "s3cret" not in shown
