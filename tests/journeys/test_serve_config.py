"""`voltyard serve --config FILE` as an operator runs it: the file means what it says, a bad one says why.

Issue 15, findings 2 and 4: the file's [server] values were replaced by defaults (the flags left out
overrode them with None), `[server] port = "nine"` started a server, and `voltyard tui --help` was refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.journeys.appliance import RunningAppliance, voltyard


def _error_lines(stderr: str) -> list[str]:
    """The lines a user reads as the error: everything but timestamped log lines."""
    return [line for line in stderr.splitlines() if line and not line[:4].isdigit()]


def test_serve_with_only_a_config_file_honours_its_server_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the file ignored, the store would land under XDG_DATA_HOME: keep it out of the real home.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    config = '[server]\nhost = "127.0.0.1"\nport = 0\napi_port = 0\ndata_dir = "site"\n'
    running = RunningAppliance(tmp_path / "site")
    running.start(config=config, flags=[], timeout=30)
    try:
        ready = next(line for line in running.log if "voltyard ready" in line)
        assert "OCPP ws://127.0.0.1:" in ready
        assert f"data {tmp_path / 'site' / 'voltyard.db'}" in ready
        assert (tmp_path / "site" / "voltyard.db").is_file()
        assert not (tmp_path / "xdg").exists()
        assert running.api("GET", "/health").status == 200
    finally:
        assert running.stop() == 0


def test_a_flag_given_beats_the_file_and_one_left_out_does_not(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text('[server]\nhost = "127.0.0.1"\nport = 19999\napi_port = 0\ndata_dir = "site"\n')
    result = voltyard("check-config", "--config", str(config), "--port", "0")
    assert result.returncode == 0, result.stderr
    assert 'host = "127.0.0.1"  # file' in result.stdout
    assert "port = 0  # flag --port" in result.stdout
    assert f'data_dir = "{tmp_path / "site"}"  # file' in result.stdout


@pytest.mark.parametrize(
    ("text", "key", "what"),
    [
        ('[server]\nport = "nine"\n', "server.port", "expected an integer, got 'nine'"),
        ("[server]\nport = 70000\n", "server.port", "70000 is outside 0..65535"),
        ("[server]\nprot = 9000\n", "server.prot", "unknown key"),
        ('[ocpp]\nunknown_id_tag = "maybe"\n', "ocpp.unknown_id_tag", "'maybe' is not one of"),
        ("[store]\nevents_max_rows = -1\n", "store.events_max_rows", "is outside"),
        ("[sever]\nport = 9000\n", "sever", "unknown section [sever]"),
        (
            '[security]\ncert_file = "absent.crt"\nkey_file = "absent.key"\n',
            "security.cert_file",
            "No such file",
        ),
    ],
)
def test_a_bad_value_exits_2_with_one_line_naming_file_and_key(
    tmp_path: Path, text: str, key: str, what: str
) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text(text)
    result = voltyard("serve", "--config", str(config), "--data-dir", str(tmp_path / "site"), timeout=30)
    assert result.returncode == 2, result.stderr
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"voltyard: {config}: {key}"), lines[0]
    assert what in lines[0]
    assert not (tmp_path / "site").exists()  # nothing started


@pytest.mark.parametrize("make", ["absent", "directory"])
def test_a_config_file_that_cannot_be_read_exits_2_in_one_line(tmp_path: Path, make: str) -> None:
    config = tmp_path / "voltyard.toml"
    if make == "directory":
        config.mkdir()
    result = voltyard("serve", "--config", str(config), timeout=30)
    assert result.returncode == 2, result.stderr
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"voltyard: {config}: cannot read the configuration")


def test_tui_options_go_to_the_console() -> None:
    helped = voltyard("tui", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--api-url" in helped.stdout
    assert "--token-file" in helped.stdout
    # Options before the console's own --version reach the console's parser (argparse refused them).
    versioned = voltyard(
        "tui", "--api-url", "http://127.0.0.1:1", "--token-file", "/nonexistent", "--version"
    )
    assert versioned.returncode == 0, versioned.stderr
    assert "voltyard-tui" in versioned.stdout
    listed = voltyard("--help")
    assert listed.returncode == 0
    assert " tui " in listed.stdout
    assert "check-config" in listed.stdout
