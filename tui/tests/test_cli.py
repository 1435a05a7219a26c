"""`voltyard-tui`'s command line and where it finds its token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import voltyard_tui
from voltyard_tui import cli
from voltyard_tui.tokens import TokenError, resolve_token


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_token_flag_wins(tmp_path):
    write(tmp_path / "api-token-operator", "from-file\n")
    assert resolve_token("given", None, tmp_path).token == "given"


def test_token_file_is_read_and_stripped(tmp_path):
    creds = resolve_token(None, write(tmp_path / "tok", "  abc \n"))
    assert (creds.token, creds.read_only) == ("abc", False)
    assert resolve_token(None, write(tmp_path / "api-token-readonly", "r")).read_only


def test_data_dir_prefers_operator_then_read_only(tmp_path):
    write(tmp_path / "api-token-readonly", "ro")
    assert resolve_token(data_dir=tmp_path).read_only
    write(tmp_path / "api-token-operator", "op")
    creds = resolve_token(data_dir=tmp_path)
    assert (creds.token, creds.read_only) == ("op", False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_operator_token_falls_back_to_read_only(tmp_path):
    write(tmp_path / "api-token-operator", "op", mode=0o000)
    write(tmp_path / "api-token-readonly", "ro")
    assert resolve_token(data_dir=tmp_path).token == "ro"


def test_no_token_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(TokenError, match=r"neither .*voltyard/api-token-operator nor .*api-token-readonly"):
        resolve_token()
    with pytest.raises(TokenError, match="the token file is empty"):
        resolve_token(None, write(tmp_path / "empty", "\n"))
    with pytest.raises(TokenError, match="cannot read the token file"):
        resolve_token(None, tmp_path / "missing")


def test_main_without_token_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cli.main([]) == 2
    assert capsys.readouterr().err.startswith("voltyard-tui: no API token:")


def test_main_builds_the_app_from_the_flags(tmp_path, monkeypatch):
    seen = {}

    def fake_run(self) -> None:
        seen["url"] = self.client.base_url
        seen["read_only"] = self.read_only
        self._return_code = 0

    monkeypatch.setattr(cli.VoltyardApp, "run", fake_run)
    token = write(tmp_path / "api-token-readonly", "ro")
    assert cli.main(["--api-url", "http://10.0.0.5:8180/", "--token-file", str(token)]) == 0
    assert seen == {"url": "http://10.0.0.5:8180", "read_only": True}


def test_version_and_mutually_exclusive_token_flags(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"voltyard-tui {voltyard_tui.__version__}"
    with pytest.raises(SystemExit) as caught:
        cli.main(["--token", "a", "--token-file", "b"])
    assert caught.value.code == 2
