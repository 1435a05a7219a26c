"""scripts/test.sh runs the suite on pytest-xdist workers: the long tests are handed out first there, a plain
`pytest` keeps its own order, and an empty run still fails (tests/conftest.py, scripts/test.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEELS = "tests/integration/test_wheels.py"
CAN_DRIVER = "tests/integration/test_can_driver.py"
TIMEFMT = "tests/unit/test_timefmt.py"


def pytest_run(*args: str, worker: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m pytest ARGS` from the repository root, as an xdist worker named `worker` if given."""
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_XDIST_WORKER"}
    if worker is not None:
        env["PYTEST_XDIST_WORKER"] = worker
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@cache  # one collection per selection: each starts a pytest that imports the suite
def collected(*paths: str, worker: str | None = None) -> list[str]:
    result = pytest_run("--collect-only", "-q", *paths, worker=worker)
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def is_slow(nodeid: str) -> bool:
    return nodeid.startswith(f"{WHEELS}::test_release_wheels") or nodeid.endswith("_with_12_plcs")


def test_a_worker_starts_with_the_wheel_build_then_the_other_slow_tests_then_the_rest_in_order() -> None:
    serial = collected(TIMEFMT, CAN_DRIVER, WHEELS)
    on_worker = collected(TIMEFMT, CAN_DRIVER, WHEELS, worker="gw0")
    # The cold release build (timeout 1200) before the 60 s RelayControl measurement (timeout 180).
    assert on_worker[:2] == [
        f"{WHEELS}::test_release_wheels_install_and_run_without_rust",
        f"{CAN_DRIVER}::test_relay_control_period_over_a_minute_with_12_plcs",
    ]
    assert sorted(on_worker) == sorted(serial)  # the same tests, none dropped
    assert on_worker[2:] == [nodeid for nodeid in serial if not is_slow(nodeid)]


def test_a_plain_pytest_keeps_the_file_order() -> None:
    files = [nodeid.split("::")[0] for nodeid in collected(TIMEFMT, CAN_DRIVER, WHEELS)]
    assert list(dict.fromkeys(files)) == [TIMEFMT, CAN_DRIVER, WHEELS]
    assert files == sorted(files, key=[TIMEFMT, CAN_DRIVER, WHEELS].index)  # each file's tests together


# A hang guard: two worker processes start and import the suite's conftest on a busy machine.
@pytest.mark.timeout(180)
def test_the_scripts_workers_still_fail_a_run_that_collects_nothing() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert 'python3 -m pytest -n "${VOLTYARD_TEST_WORKERS:-2}" --dist loadgroup\n' in script
    result = pytest_run("-n", "2", "--dist", "loadgroup", TIMEFMT, "-k", "no_such_test")
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout + result.stderr
