"""`voltyard check-frames --ocpp 1.6|2.0.1|2.1`, walked with the installed entry point: frames of each
version checked against that version's schemas, refusals in that version's spelling, and one clear
line when the installed `ocpp` package lacks a version's schemas."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from tests.journeys.appliance import voltyard

FRAMES = Path(__file__).resolve().parent.parent / "fixtures" / "frames"
V201 = FRAMES / "v201" / "valid"
V21 = FRAMES / "v21" / "valid"


def test_check_frames_accepts_2_0_1_frames_against_the_2_0_1_schemas() -> None:
    files = [V201 / "BootNotificationRequest.json", V201 / "TransactionEventRequest.json"]
    result = voltyard("check-frames", "--ocpp", "2.0.1", *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert " ok CALL BootNotification " in lines[0]
    assert " ok CALL TransactionEvent " in lines[1]
    # The same 2.0.1 frame is not 1.6, the default version.
    old = voltyard("check-frames", str(V201 / "TransactionEventRequest.json"))
    assert old.returncode == 1
    assert ": NotImplemented (message id " in old.stdout
    assert "is not an OCPP 1.6 action" in old.stdout


def test_check_frames_answers_each_refusal_in_the_2x_spelling() -> None:
    stdin = "\n".join(
        [
            '[2,"m-1","BootNotification",{"reason":"PowerUp"}]',
            '[2,"m-2","Heartbeat",{"beat":1}]',
            '{"not":"a frame"}',
            '[6,"m-3","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2026-12-07T05:40:00Z","data":[]}]',
            '[2,"m-4","Heartbeat",{}]',
        ]
    )
    result = voltyard("check-frames", "--ocpp", "2.0.1", input=stdin)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("<stdin>:1: OccurrenceConstraintViolation (message id 'm-1'): ")
    assert "chargingStation" in lines[0]
    assert lines[1].startswith("<stdin>:2: FormatViolation (message id 'm-2'): ")
    assert lines[2].startswith("<stdin>:3: RpcFrameworkError (message id None): ")
    assert lines[3].startswith("<stdin>:4: MessageTypeNotSupported (message id 'm-3'): ")
    assert lines[4] == "<stdin>:5: ok CALL Heartbeat m-4"


def test_check_frames_reads_2_1_send_and_callresulterror() -> None:
    stdin = "\n".join(
        [
            (V21 / "NotifyPeriodicEventStream.json").read_text().replace("\n", ""),
            '[5,"r-1","GenericError","could not store it",{}]',
            '[3,"r-2",{"currentTime":"2026-12-07T05:40:00Z","interval":300,"status":"Maybe"}]',
        ]
    )
    result = voltyard("check-frames", "--ocpp", "2.1", "--answers", "BootNotification", input=stdin)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert " ok SEND NotifyPeriodicEventStream " in lines[0]
    assert lines[1] == "<stdin>:2: ok CALLRESULTERROR GenericError r-1"
    assert lines[2].startswith("<stdin>:3: PropertyConstraintViolation (message id 'r-2'): /status: ")


def test_check_frames_refuses_an_unknown_version_in_one_line() -> None:
    result = voltyard("check-frames", "--ocpp", "2.0", input="")
    assert result.returncode == 2
    assert "argument --ocpp: invalid choice: '2.0' (choose from '1.6', '2.0.1', '2.1')" in result.stderr
    assert "--ocpp VERSION" in voltyard("check-frames", "--help").stdout


def test_check_frames_says_when_the_ocpp_package_lacks_a_version(tmp_path: Path) -> None:
    # An `ocpp` package as releases before 2.1 ship it: no v21 schemas. Found first on the path.
    real = Path(str(resources.files("ocpp")))
    old = tmp_path / "site" / "ocpp"
    shutil.copytree(real, old, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(old / "v21" / "schemas")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]),
    }
    result = voltyard("check-frames", "--ocpp", "2.1", input='[2,"m-1","Heartbeat",{}]\n', env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"voltyard: {old / 'v21' / 'schemas'}: the installed `ocpp` package (version ")
    assert "has no OCPP 2.1 schemas here; upgrade it to a release that ships ocpp/v21/schemas" in line
    # 1.6, which that package has, still works.
    ok = voltyard("check-frames", input='[2,"m-1","Heartbeat",{}]\n', env=env)
    assert (ok.returncode, ok.stdout) == (0, "<stdin>:1: ok CALL Heartbeat m-1\n")
    # The central system serves 2.1 too: with that package, serve says why it cannot start, in one line.
    served = voltyard(
        "serve", "--port", "0", "--api-port", "0", "--data-dir", str(tmp_path / "data"), env=env, timeout=60
    )
    assert served.returncode == 2, served.stderr
    line = served.stderr.strip()
    assert served.stderr.splitlines() == [line], served.stderr  # no traceback, no log before it
    assert "has no OCPP 2.1 schemas here; upgrade it" in line
