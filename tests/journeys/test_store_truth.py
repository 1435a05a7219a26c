"""The store tells the operator the truth, through the installed `voltyard serve` (issue 17, finding 6).

A store written by a newer voltyard, or with damaged pages, is one line and exit 2, left untouched; a full
disk (the appliance's file size limit lowered under it, RLIMIT_FSIZE: the same EFBIG/ENOSPC refusal of every
write past the limit, without root) makes /health degraded with the reason, an alert and one log line, and
it recovers once the space is back; SIGTERM still stops it cleanly. Every call has a hang guard.
"""

from __future__ import annotations

import resource
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

from voltyard.store.db import connect, migrate, migrations

from tests.journeys.appliance import RunningAppliance, voltyard

HANG_GUARD = 30
PAGE = 16384


def schema_version() -> int:
    """The newest schema this build knows: its last migration."""
    return migrations()[-1][0]


def _serve(data_dir: Path) -> subprocess.CompletedProcess[str]:
    args = ["--host", "127.0.0.1", "--port", "0", "--api-port", "0", "--data-dir", str(data_dir)]
    return voltyard("serve", *args, timeout=HANG_GUARD)


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("voltyard:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().endswith(errors[0])
    return errors[0]


def test_a_store_written_by_a_newer_voltyard_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "site"
    data.mkdir(mode=0o700)
    store = data / "voltyard.db"
    with closing(sqlite3.connect(store)) as conn:
        conn.execute("CREATE TABLE from_the_future (x)")
        conn.execute(f"PRAGMA user_version = {schema_version() + 1}")
    before = store.read_bytes()
    result = _serve(data)
    assert result.returncode == 2
    assert _last_line(result) == (
        f"voltyard: {store}: the store was written by a newer voltyard (schema {schema_version() + 1}, "
        f"this build knows {schema_version()}); run that version or a later one, or restore a backup of "
        "this version's store"
    )
    assert store.read_bytes() == before  # never migrated down, not even switched to WAL


def test_a_store_with_damaged_pages_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "site"
    data.mkdir(mode=0o700)
    store = data / "voltyard.db"
    with closing(connect(store)) as conn:
        migrate(conn, store)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO status_history (charger_id, connector_id, status, error_code, received_at) "
            "VALUES (?, 1, 'Available', 'NoError', ?)",
            [(f"CP{n}", float(n)) for n in range(3000)],
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'status_history'").fetchone()[0]
    with store.open("r+b") as file:  # what a failing disk leaves: a page of garbage
        file.seek((root - 1) * PAGE)
        file.write(b"\xff" * PAGE)
    result = _serve(data)
    assert result.returncode == 2
    line = _last_line(result)
    assert line.startswith(f"voltyard: {store}: the store is damaged: Page {root}: ")
    assert line.endswith("(restore it from a backup, or move it aside to start with an empty store)")
    assert "voltyard ready" not in result.stderr  # it never served from it


def _health(appliance: RunningAppliance) -> dict[str, Any]:
    answer = appliance.api("GET", "/health")
    assert answer.status == 200
    body: dict[str, Any] = answer.json
    return body


def _set_limit(appliance: RunningAppliance, kw: float) -> int:
    return appliance.api("PUT", "/site", {"limit_kw": kw, "operator": "journey"}).status


def test_a_full_disk_makes_health_degraded_and_it_recovers(appliance: RunningAppliance) -> None:
    assert appliance.process is not None
    pid = appliance.process.pid
    health = _health(appliance)
    assert health["status"] == "ok"
    store = health["store"]
    assert store["status"] == "ok"
    assert store["problems"] == []
    assert store["failed_commits"] == 0
    assert store["free_disk_bytes"] > 0
    assert _set_limit(appliance, 150.0) == 200

    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    # No file of the appliance may grow past one page: the WAL's next frame cannot be written.
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (PAGE, hard))
    try:
        assert _set_limit(appliance, 120.0) == 500  # refused, not acknowledged
        health = _health(appliance)
        assert health["status"] == "degraded"
        assert health["store"]["status"] == "degraded"
        assert health["store"]["failed_commits"] >= 1
        assert health["store"]["writer"] == "running"  # a failed commit never ends the writer
        assert any("store commits are failing" in problem for problem in health["store"]["problems"])
        line = "ERROR voltyard: store degraded: store commits are failing"
        appliance.wait_for(lambda: line in appliance.text, timeout=HANG_GUARD, what="the degraded line")
        assert appliance.text.count("store degraded:") == 1  # one line per change, not per failed commit
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))

    assert _set_limit(appliance, 110.0) == 200
    appliance.wait_for(lambda: _health(appliance)["status"] == "ok", timeout=HANG_GUARD, what="ok again")
    appliance.wait_for(lambda: "store ok again" in appliance.text, timeout=HANG_GUARD, what="the ok line")
    assert appliance.api("GET", "/site").json["limit_kw"] == 110.0

    # The alerts: the degraded one went to live listeners while nothing could be stored; the recovery is
    # on record.
    def recovered() -> list[dict[str, Any]]:
        events = appliance.api("GET", "/events?limit=1000").json["items"]
        return [
            event
            for event in events
            if event["kind"] == "Warning" and event["data"]["kind"] == "StoreRecovered"
        ]

    appliance.wait_for(recovered, timeout=HANG_GUARD, what="the StoreRecovered alert on record")
    assert len(recovered()) == 1
    assert "store commits are failing" in recovered()[0]["data"]["error"]  # what it recovered from
    wal = appliance.data_dir / "voltyard.db-wal"
    assert wal.stat().st_size <= 4 * 2**20 + PAGE  # checkpointed, not left to grow
    assert appliance.stop(timeout=HANG_GUARD) == 0


def test_sigterm_stops_cleanly_while_the_disk_is_full(appliance: RunningAppliance) -> None:
    assert appliance.process is not None
    pid = appliance.process.pid
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (PAGE, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    assert _set_limit(appliance, 120.0) == 500
    assert _health(appliance)["status"] == "degraded"
    assert appliance.stop(timeout=HANG_GUARD) == 0
    assert "voltyard stopped" in appliance.text
