"""Journey tests: what a user runs, as the user runs it.

The installed `voltyard` entry point runs as a subprocess, with real config files, real data directories and
real sockets; the console is driven by Pilot against a real appliance. Nothing here is faked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys.appliance import RunningAppliance


@pytest.fixture
def appliance(tmp_path: Path) -> Iterator[RunningAppliance]:
    """A `voltyard serve` on free loopback ports and a fresh data dir, stopped after the test."""
    running = RunningAppliance(tmp_path / "site")
    running.start()
    try:
        yield running
    finally:
        running.stop()
