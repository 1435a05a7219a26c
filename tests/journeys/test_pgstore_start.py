"""The PostgreSQL store as an operator meets it at start, through the installed `voltyard serve`
(issue 23): a server that is not there, or does not answer, or a database of a newer voltyard, is one line
naming the URL (its password shown as ***) and exit code 2, never a hang; `check-config` shows the backend
and the URL without its password; with a real server, `serve` starts on it, stores what the API writes and
finds it again after a restart."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from voltyard.store.postgresql import schema_version

from tests.journeys.appliance import RunningAppliance, voltyard

HANG_GUARD = 60
PASSWORD = "s3cret-pw"


def _config(tmp_path: Path, dsn: str) -> Path:
    path = tmp_path / "voltyard.toml"
    path.write_text(
        f'[server]\ndata_dir = "{tmp_path / "site"}"\nhost = "127.0.0.1"\nport = 0\napi_port = 0\n\n'
        f'[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n',
        encoding="utf-8",
    )
    return path


def _serve(config: Path) -> subprocess.CompletedProcess[str]:
    return voltyard("serve", "--config", str(config), timeout=HANG_GUARD)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("voltyard:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().endswith(errors[0])
    assert PASSWORD not in result.stderr, "the password was written out"
    return errors[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_is_not_there_is_one_line_naming_the_url_and_exit_2(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    result = _serve(_config(tmp_path, f"postgresql://vy:{PASSWORD}@127.0.0.1:{port}/vy"))
    assert result.returncode == 2, result.stderr
    line = _one_line(result)
    assert line.startswith(
        f"voltyard: postgresql://vy:***@127.0.0.1:{port}/vy: cannot connect to PostgreSQL: "
    )
    assert "Connection refused" in line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes the TCP connection and then never says a word (a hung server, a wrong service)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # never accepted: the kernel completes the handshake, nobody answers
        yield int(sock.getsockname()[1])


def test_a_server_that_does_not_answer_fails_the_start_after_the_connect_timeout(
    tmp_path: Path, silent_server: int
) -> None:
    started = time.monotonic()
    result = _serve(_config(tmp_path, f"postgresql://vy:{PASSWORD}@127.0.0.1:{silent_server}/vy"))
    took = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    line = _one_line(result)
    assert line.startswith(f"voltyard: postgresql://vy:***@127.0.0.1:{silent_server}/vy: cannot connect")
    assert "timeout" in line
    assert took < HANG_GUARD  # the hang guard of this test is the assertion: it ended by itself


def test_a_database_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path, pg_server) -> None:
    dsn = pg_server.dsn("no_such_database").replace("postgres@", f"postgres:{PASSWORD}@")
    result = _serve(_config(tmp_path, dsn))
    assert result.returncode == 2, result.stderr
    line = _one_line(result)
    assert line.startswith(
        f"voltyard: postgresql://postgres:***@127.0.0.1:{pg_server.port}/no_such_database: "
    )
    assert 'database "no_such_database" does not exist' in line


def test_a_database_of_a_newer_voltyard_is_refused_untouched(tmp_path: Path, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT, applied_at FLOAT8)"
        )
        conn.execute("INSERT INTO schema_version VALUES (%s, 'future', 0)", (schema_version() + 1,))
    result = _serve(_config(tmp_path, pg_dsn))
    assert result.returncode == 2, result.stderr
    assert _one_line(result) == (
        f"voltyard: {pg_dsn}: the store was written by a newer voltyard (schema {schema_version() + 1}, "
        f"this build knows {schema_version()}); run that version or a later one, or restore a backup of "
        "this version's store"
    )
    with psycopg.connect(pg_dsn) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (1,), "a newer database was migrated"


def test_check_config_shows_the_backend_and_hides_the_password(tmp_path: Path) -> None:
    config = _config(tmp_path, f"postgresql://vy:{PASSWORD}@db.example:5432/vy")
    result = voltyard("check-config", "--config", str(config), timeout=HANG_GUARD)
    assert result.returncode == 0, result.stderr
    assert 'backend = "postgresql"  # file' in result.stdout
    assert 'dsn = "postgresql://vy:***@db.example:5432/vy"  # file' in result.stdout
    assert PASSWORD not in result.stdout


def test_serve_on_postgresql_keeps_what_it_stored_across_a_restart(tmp_path: Path, pg_dsn: str) -> None:
    config = _config(tmp_path, pg_dsn).read_text(encoding="utf-8")
    first = RunningAppliance(tmp_path / "site")
    first.start(config=config, flags=[])
    try:
        assert f"data {pg_dsn}" in first.text
        answer = first.api("PUT", "/id-tags/CARD-1", {"status": "Accepted"})
        assert answer.status == 200, answer
        health = first.api("GET", "/health").json
        assert health["store"]["status"] == "ok", health
    finally:
        assert first.stop() == 0
    second = RunningAppliance(tmp_path / "site")
    second.start(config=config, flags=[])
    try:
        tags = second.api("GET", "/id-tags").json
        assert [tag["id_tag"] for tag in tags["items"]] == ["CARD-1"], tags
    finally:
        assert second.stop() == 0
