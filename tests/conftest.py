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
def appliance_config(request, tmp_path: Path):
    """A builder of configs for an in-process appliance on a free port and a fresh data dir.

    Its store is SQLite's file, or with VOLTYARD_TEST_STORE=postgresql a fresh database of the session's
    PostgreSQL server: `VOLTYARD_TEST_STORE=postgresql pytest tests/e2e tests/integration` runs every
    in-process appliance of the suite on PostgreSQL."""
    store: dict[str, object] = {}
    if os.environ.get("VOLTYARD_TEST_STORE", "sqlite") == "postgresql":
        store = {"backend": "postgresql", "dsn": request.getfixturevalue("pg_dsn")}

    def build(**sections: dict[str, object]) -> Config:
        overrides: dict[str, dict[str, object]] = {
            "server": {
                "data_dir": tmp_path / "data",
                "host": "127.0.0.1",
                "port": 0,
                **sections.pop("server", {}),
            },
            "store": {**store, **sections.pop("store", {})},
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


# --- the store's backends (tests/pg_server.py) ---------------------------------------------------------

STORE_BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_server():
    """One real PostgreSQL server for the session (Debian's postgresql-15 binaries, as `postgres` when the
    tests run as root). Missing binaries fail the tests that need it, naming the package: never a skip."""
    from tests.pg_server import PgServer, PgServerError  # noqa: PLC0415 - only the PostgreSQL tests

    server = PgServer()
    try:
        server.start()
    except PgServerError as exc:
        server.stop()
        pytest.fail(f"cannot start the PostgreSQL test server: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_dsn(pg_server):
    """The URL of a new, empty database of the session's server, dropped after the test."""
    dsn = pg_server.fresh_database()
    yield dsn
    pg_server.drop_database(dsn)


@pytest.fixture(params=STORE_BACKENDS)
def store_backend(request, tmp_path: Path):
    """The store backend of the test, once per backend: SQLite's file in tmp_path, or a fresh PostgreSQL
    database (nothing opened yet)."""
    from voltyard.store.db import SqliteBackend  # noqa: PLC0415

    if request.param == "sqlite":
        backend = SqliteBackend(tmp_path / "v.db")
    else:
        from voltyard.store.postgresql import PostgresBackend  # noqa: PLC0415

        backend = PostgresBackend(request.getfixturevalue("pg_dsn"))
    yield backend
    backend.close()  # the readers' idle connections


@pytest.fixture
def store_db(store_backend):
    """A writing connection of `store_backend` with the schema migrated (autocommit: each statement
    commits unless the test opens a transaction)."""
    conn = store_backend.open_writer()
    yield conn
    conn.close()


@dataclass(frozen=True, slots=True)
class ServedStore:
    """The store of a `voltyard serve` subprocess whose data directory is `data_dir`: the config file that
    selects its backend (pass `flags`; `add` appends settings of the test's own) and the backend to read
    what it stored."""

    name: str
    data_dir: Path
    config: Path
    backend: object  # voltyard.store.connection.Backend

    @property
    def flags(self) -> tuple[str, ...]:
        return ("--config", str(self.config))

    def add(self, toml: str) -> None:
        """Append `toml` (other sections than [store]) to the config file."""
        with self.config.open("a", encoding="utf-8") as file:
            file.write("\n" + toml)

    def reader(self):
        """A read connection to what the server stored (close it)."""
        return self.backend.open_reader()  # type: ignore[attr-defined]


@pytest.fixture(params=STORE_BACKENDS)
def served_store(request, tmp_path: Path):
    """A store for `voltyard serve` (tests/server_process.py) with the data directory tmp_path/data, once
    per backend: SQLite's file there, or a fresh PostgreSQL database named in the config file."""
    from voltyard.store.db import DB_FILENAME, SqliteBackend  # noqa: PLC0415

    data_dir = tmp_path / "data"
    config = tmp_path / "voltyard-store.toml"
    if request.param == "sqlite":
        config.write_text("", encoding="utf-8")
        served = ServedStore("sqlite", data_dir, config, SqliteBackend(data_dir / DB_FILENAME))
    else:
        from voltyard.store.postgresql import PostgresBackend  # noqa: PLC0415

        dsn = request.getfixturevalue("pg_dsn")
        config.write_text(f'[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n', encoding="utf-8")
        served = ServedStore("postgresql", data_dir, config, PostgresBackend(dsn))
    yield served
    served.backend.close()  # type: ignore[attr-defined]  # the readers' idle connections


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
