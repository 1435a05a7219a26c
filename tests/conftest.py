"""Shared fixtures: the golden frames of tests/fixtures/frames and the process-wide codec."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    """One real redis-server (Debian's `redis-server`) for the session; a missing binary fails, never
    skips (.ci/run installs the package)."""
    from tests.redis_server import RedisServer, RedisServerMissingError  # noqa: PLC0415

    try:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    except RedisServerMissingError as exc:
        pytest.fail(str(exc))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The session's Redis, emptied (FLUSHALL) for this test; restarted first if a test killed it."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.flushall()
    return str(redis_server.url)
