"""Shared fixtures: the golden frames of tests/fixtures/frames and the process-wide codec."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from voltyard._native import OcppCodec
from voltyard.config import Config, load_config
from voltyard.ocpp.codec import load_codec
from voltyard.runtime import Appliance

FIXTURES = Path(__file__).parent / "fixtures"
FRAMES = FIXTURES / "frames"


@dataclass(frozen=True, slots=True)
class InvalidFrame:
    """One row of tests/fixtures/frames/invalid.json (shared with the Rust golden tests)."""

    name: str
    frame: bytes
    code: str
    message_id: str | None
    answers: str | None
    action: str | None
    # The MessageTypeId the error must carry, where the table states it (2.x tables).
    message_type: int | None = None


# Where each version's golden frames are: 1.6 at the top, 2.0.1 and 2.1 in their folders.
FRAMES_OF = {"1.6": FRAMES, "2.0.1": FRAMES / "v201", "2.1": FRAMES / "v21"}


def load_invalid_frames(version: str = "1.6") -> list[InvalidFrame]:
    rows = json.loads((FRAMES_OF[version] / "invalid.json").read_text(encoding="utf-8"))
    return [
        InvalidFrame(
            name=row["name"],
            frame=bytes.fromhex(row["frame_hex"]) if "frame_hex" in row else row["frame"].encode(),
            code=row["code"],
            message_id=row["message_id"],
            answers=row.get("answers"),
            action=row.get("action"),
            message_type=row.get("message_type"),
        )
        for row in rows
    ]


def valid_frame_paths(version: str = "1.6") -> list[Path]:
    return sorted((FRAMES_OF[version] / "valid").glob("*.json"))


@pytest.fixture(scope="session")
def codec() -> OcppCodec:
    return load_codec()


@pytest.fixture
def appliance_config(tmp_path: Path):
    """A builder of configs for an in-process appliance on a free port and a fresh data dir."""

    def build(**sections: dict[str, object]) -> Config:
        overrides: dict[str, dict[str, object]] = {
            "server": {
                "data_dir": tmp_path / "data",
                "host": "127.0.0.1",
                "port": 0,
                **sections.pop("server", {}),
            }
        }
        overrides.update(sections)
        return load_config(None, overrides)

    return build


@pytest.fixture
async def appliance(appliance_config):
    """A running appliance (real picows server, real SQLite file) on 127.0.0.1 and a free port."""
    running = Appliance(appliance_config())
    await running.start()
    yield running
    await running.stop()


def _longest_first(item: pytest.Item) -> tuple[bool, float]:
    """Sort key: tests marked `slow` first, the longest declared hang guard (`timeout`) first among them."""
    timeout = item.get_closest_marker("timeout")
    declared = float(timeout.args[0]) if timeout is not None and timeout.args else 0.0
    return item.get_closest_marker("slow") is None, -declared


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (scripts/test.sh runs `-n 2 --dist loadgroup`), the long tests start first.

    Each worker collects, and the controller hands the tests out in the collected order, one at a time as a
    worker frees up. A long test handed out last keeps one worker busy while the other idles: the cold
    release-wheel build alone is minutes. Started first, the long tests run while the other worker takes the
    short ones. A serial run (no PYTEST_XDIST_WORKER) keeps pytest's own order.
    """
    if "PYTEST_XDIST_WORKER" in os.environ:
        items.sort(key=_longest_first)  # stable: the collected order within each rank
