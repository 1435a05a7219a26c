"""The `voltyard` command: version, check-frames verdicts and exit codes, and its errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from voltyard import __version__
from voltyard.cli import check_frames, main

from tests.conftest import FRAMES

VALID = FRAMES / "valid"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"voltyard {__version__}"


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voltyard.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"voltyard {__version__}"


def test_check_frames_accepts_every_request_example() -> None:
    out = io.StringIO()
    requests = sorted(p for p in VALID.glob("*.json") if not p.stem.endswith("Response"))
    assert check_frames(requests, None, io.StringIO(), out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 39
    assert all(": ok CALL " in line for line in lines)


def test_check_frames_validates_results_against_the_answered_action() -> None:
    out = io.StringIO()
    assert (
        check_frames([VALID / "BootNotificationResponse.json"], "BootNotification", io.StringIO(), out) == 0
    )
    assert ": ok CALLRESULT " in out.getvalue()
    out = io.StringIO()
    assert check_frames([VALID / "BootNotificationResponse.json"], "Heartbeat", io.StringIO(), out) == 1
    assert "FormationViolation" in out.getvalue()


def test_check_frames_reads_stdin_lines_and_reports_each() -> None:
    stdin = io.StringIO('[2,"a","Heartbeat",{}]\n\n[2,"b","Authorize",{}]\nnot json\n')
    out = io.StringIO()
    assert check_frames([], None, stdin, out) == 1
    assert out.getvalue().splitlines() == [
        "<stdin>:1: ok CALL Heartbeat a",
        "<stdin>:3: OccurenceConstraintViolation (message id 'b'): payload: "
        'required property "idTag" is missing (required)',
        "<stdin>:4: FormationViolation (message id None): frame is not valid JSON: "
        "expected a JSON value at line 1 column 1",
    ]


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-frames", str(tmp_path / "absent.json")]) == 2
    assert (
        capsys.readouterr().err.strip() == f"voltyard: {tmp_path / 'absent.json'}: No such file or directory"
    )


def test_unknown_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check-frames", "--nope"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --nope" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "check-frames" in capsys.readouterr().out


def test_plc_sim_runs_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plc-sim", "--channel", "cli-test", "--plcs", "0-1,5", "--duration", "0.3", "--plug"]) == 0
    assert capsys.readouterr().out.startswith("RelayControl received: 0 periods")


@pytest.mark.parametrize("plcs", ["16", "3-1", "a"])
def test_plc_sim_refuses_bad_plc_ids(plcs: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["plc-sim", "--plcs", plcs])
    assert exited.value.code == 2
    assert "--plcs" in capsys.readouterr().err


def test_plc_sim_names_a_bus_it_cannot_open(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plc-sim", "--interface", "nosuch", "--duration", "0.1"]) == 2
    assert "cannot open CAN bus nosuch:voltyard-cabinet" in capsys.readouterr().err


def test_tui_arguments_reach_the_console_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["tui", "--api-url", "http://127.0.0.1:1", "--help"])
    assert exited.value.code == 0
    assert "--token-file" in capsys.readouterr().out


def test_check_config_prints_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.toml"
    path.write_text('[server]\nhost = "127.0.0.1"\n')
    assert main(["check-config", "--config", str(path), "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert 'host = "127.0.0.1"  # file' in out
    assert "port = 0  # flag --port" in out
