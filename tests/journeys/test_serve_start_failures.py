"""Every way `voltyard serve` can fail to start ends in one clear line and a non-zero exit, never a hang.

Issue 15, findings 3, 9 and 11: a store that could not be opened left `serve` hanging forever, deaf to
SIGTERM; two appliances shared one data dir; the data dir and store were readable by every local user; a
port in use did not say which listener. Every `voltyard(...)` call here has a timeout: a hang fails it.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys.appliance import RunningAppliance, voltyard, voltyard_bin

HANG_GUARD = 30  # seconds: a start failure takes well under one; this only stops a hang


def _serve(data_dir: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    base = ["serve", "--host", "127.0.0.1", "--port", "0", "--api-port", "0", "--data-dir", str(data_dir)]
    return voltyard(*base, *flags, timeout=HANG_GUARD)


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `voltyard: ...` line of a failed start (log lines with timestamps may precede it)."""
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("voltyard:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().endswith(errors[0])  # the last thing the user reads
    return errors[0]


def test_a_directory_where_the_store_should_be(tmp_path: Path) -> None:
    data = tmp_path / "site"
    (data / "voltyard.db").mkdir(parents=True)
    result = _serve(data)
    assert result.returncode == 1
    assert _one_error(result) == (
        f"voltyard: {data / 'voltyard.db'}: cannot open the store: it is a directory, not a database file"
    )


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    data = tmp_path / "site"
    data.mkdir()
    (data / "voltyard.db").write_text("these are my notes, not a database\n")
    result = _serve(data)
    assert result.returncode == 2  # a store it must not use: restarting cannot help (issue 17)
    assert (
        _one_error(result)
        == f"voltyard: {data / 'voltyard.db'}: cannot open the store: file is not a database"
    )
    assert (data / "voltyard.db").read_text() == "these are my notes, not a database\n"  # left as it was


def test_a_data_dir_that_is_a_regular_file(tmp_path: Path) -> None:
    data = tmp_path / "site"
    data.write_text("")
    result = _serve(data)
    assert result.returncode == 1
    assert _one_error(result) == f"voltyard: {data}: the data directory is not a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory anyway")
def test_a_read_only_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "site"
    data.mkdir(mode=0o500)
    try:
        result = _serve(data)
    finally:
        data.chmod(0o700)
    assert result.returncode == 1
    assert "is the data directory writable?" in _one_error(result)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other process listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_ocpp_port_in_use_names_the_listener(tmp_path: Path, taken_port: int) -> None:
    result = _serve(tmp_path / "site", "--port", str(taken_port))
    assert result.returncode == 1
    assert _one_error(result) == (
        f"voltyard: OCPP listener ws://127.0.0.1:{taken_port}: address already in use "
        "(another process listens there)"
    )


def test_api_port_in_use_names_the_listener(tmp_path: Path, taken_port: int) -> None:
    result = _serve(tmp_path / "site", "--api-port", str(taken_port))
    assert result.returncode == 1
    assert _one_error(result) == (
        f"voltyard: control API listener http://127.0.0.1:{taken_port}: address already in use "
        "(another process listens there)"
    )


def test_a_second_serve_on_the_same_data_dir_is_refused_with_the_holders_pid(
    appliance: RunningAppliance,
) -> None:
    assert appliance.process is not None
    result = _serve(appliance.data_dir)
    assert result.returncode == 1
    assert _one_error(result) == (
        f"voltyard: {appliance.data_dir}: the data directory is in use by another voltyard "
        f"(pid {appliance.process.pid}); one appliance per data directory"
    )
    assert appliance.api("GET", "/health").status == 200  # the first one is untouched


def test_the_lock_goes_with_the_process(tmp_path: Path) -> None:
    first = RunningAppliance(tmp_path / "site")
    first.start(timeout=HANG_GUARD)
    assert first.stop() == 0
    second = RunningAppliance(tmp_path / "site")
    second.start(timeout=HANG_GUARD)
    assert second.stop() == 0


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_and_its_files_are_private(appliance: RunningAppliance) -> None:
    data = appliance.data_dir
    assert _mode(data) == 0o700
    for name in (
        "voltyard.db",
        "voltyard.db-wal",
        "voltyard.db-shm",
        "api-token-operator",
        "api-token-readonly",
    ):
        assert _mode(data / name) == 0o600, name


def test_an_existing_open_data_dir_is_tightened_and_said_so(tmp_path: Path) -> None:
    data = tmp_path / "site"
    data.mkdir()
    data.chmod(0o755)
    running = RunningAppliance(data)
    running.start(timeout=HANG_GUARD)
    try:
        assert _mode(data) == 0o700
        assert f"{data}: mode 0755 tightened to 0700" in running.text
    finally:
        assert running.stop() == 0


def test_a_failed_start_exits_by_itself_and_never_needs_a_signal(tmp_path: Path) -> None:
    """The old hang: the process outlived its failure and then ignored SIGTERM too."""
    data = tmp_path / "site"
    (data / "voltyard.db").mkdir(parents=True)
    process = subprocess.Popen(
        [
            str(voltyard_bin()),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--api-port",
            "0",
            "--data-dir",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail("voltyard serve hung at a store it could not open, and ignored SIGTERM")
        pytest.fail("voltyard serve hung at a store it could not open")
    assert process.returncode == 1
    assert "cannot open the store" in stderr
