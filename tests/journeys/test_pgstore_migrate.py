"""`voltyard store migrate-to-postgresql` as an operator runs it (issue 23): an appliance that served on
SQLite (real simulated chargers, real transactions) is stopped, its store copied into an empty PostgreSQL
database, and `voltyard serve` on that database shows the same transactions and id tags, and gives new
transactions ids after the old ones. A database that already holds a store, and a data directory a running
voltyard holds, are refused with one line and exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from tests.journeys.appliance import RunningAppliance, voltyard

HANG_GUARD = 120
ACCEPT_TAGS = '[ocpp]\nunknown_id_tag = "accept"\n'


def _config(tmp_path: Path, store: str = "") -> str:
    return (
        f'[server]\ndata_dir = "{tmp_path / "site"}"\nhost = "127.0.0.1"\nport = 0\napi_port = 0\n\n'
        f"{ACCEPT_TAGS}\n{store}"
    )


def _charge(appliance: RunningAppliance, prefix: str) -> None:
    """A few simulated chargers start (and some stop) transactions on the running appliance."""
    result = voltyard(
        "sim", "run", "--url", appliance.ocpp_url, "--chargers", "4", "--duration", "8", "--id-prefix",
        prefix, "--progress", "off", timeout=HANG_GUARD,
    )  # fmt: skip
    assert "starts accepted" in result.stdout, result.stdout + result.stderr


def _transactions(appliance: RunningAppliance) -> list[dict[str, object]]:
    answer = appliance.api("GET", "/transactions?limit=1000")
    assert answer.status == 200, answer
    return list(answer.json["items"])


def test_a_sqlite_store_copied_to_postgresql_serves_the_same_history(tmp_path: Path, pg_dsn: str) -> None:
    sqlite = RunningAppliance(tmp_path / "site")
    sqlite.start(config=_config(tmp_path), flags=[])
    try:
        assert sqlite.api("PUT", "/id-tags/CARD-1", {"status": "Accepted"}).status == 200
        _charge(sqlite, "OLD")
        before = _transactions(sqlite)
    finally:
        assert sqlite.stop() == 0
    assert before, "the simulated chargers started no transaction"

    copied = voltyard(
        "store", "migrate-to-postgresql", "--data-dir", str(tmp_path / "site"), "--dsn", pg_dsn,
        timeout=HANG_GUARD,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert "transactions: " in copied.stdout
    assert f"into {pg_dsn}: " in copied.stdout.splitlines()[-1]

    store = f'[store]\nbackend = "postgresql"\ndsn = "{pg_dsn}"\n'
    postgres = RunningAppliance(tmp_path / "site")
    postgres.start(config=_config(tmp_path, store), flags=[])
    try:
        assert f"data {pg_dsn}" in postgres.text
        assert _transactions(postgres) == before
        assert [tag["id_tag"] for tag in postgres.api("GET", "/id-tags").json["items"]] == ["CARD-1"]
        _charge(postgres, "NEW")
        after = _transactions(postgres)
    finally:
        assert postgres.stop() == 0
    old_ids = {tx["id"] for tx in before}
    new_ids = {tx["id"] for tx in after} - old_ids
    assert new_ids, "no transaction started on PostgreSQL"
    assert min(new_ids) > max(old_ids), "a new transaction got an id the SQLite store had given"  # type: ignore[operator]


def test_a_database_that_holds_a_store_is_refused(tmp_path: Path, pg_dsn: str) -> None:
    sqlite = RunningAppliance(tmp_path / "site")
    sqlite.start(config=_config(tmp_path), flags=[])
    assert sqlite.api("PUT", "/id-tags/CARD-1", {"status": "Accepted"}).status == 200
    assert sqlite.stop() == 0
    args = ("store", "migrate-to-postgresql", "--data-dir", str(tmp_path / "site"), "--dsn", pg_dsn)
    assert voltyard(*args, timeout=HANG_GUARD).returncode == 0
    again = voltyard(*args, timeout=HANG_GUARD)
    assert again.returncode == 2
    (line,) = again.stderr.strip().splitlines()
    assert re.fullmatch(
        rf"voltyard: {re.escape(pg_dsn)}: the database already holds a store \(table \w+ has rows\); copy "
        "into an empty database",
        line,
    ), line
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM id_tags").fetchone() == (1,)


def test_a_data_directory_in_use_is_refused(tmp_path: Path, pg_dsn: str) -> None:
    running = RunningAppliance(tmp_path / "site")
    running.start(config=_config(tmp_path), flags=[])
    try:
        result = voltyard(
            "store", "migrate-to-postgresql", "--data-dir", str(tmp_path / "site"), "--dsn", pg_dsn,
            timeout=HANG_GUARD,
        )  # fmt: skip
    finally:
        assert running.stop() == 0
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"voltyard: {tmp_path / 'site'}: the data directory is in use by another voltyard")
