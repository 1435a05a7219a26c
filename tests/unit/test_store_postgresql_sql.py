"""The PostgreSQL backend's SQL adapter (voltyard.store.postgresql.pg_sql): the store's `?` SQL in psycopg's
style, with literals, identifiers and comments left alone; its URL redaction; and the [store] config keys
that choose the backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from voltyard.config import load_config, redacted_url
from voltyard.config_view import render_config
from voltyard.errors import ConfigError
from voltyard.store.postgresql import copy_sql, pg_sql


def test_plain_parameters_become_percent_s() -> None:
    assert pg_sql("SELECT a FROM t WHERE b = ? AND c > ?") == (
        "SELECT a FROM t WHERE b = %s AND c > %s",
        None,
    )


def test_numbered_parameters_are_passed_in_their_places() -> None:
    text, order = pg_sql("INSERT INTO chargers (id, first_seen, last_seen) VALUES (?1, ?2, ?2)")
    assert text == "INSERT INTO chargers (id, first_seen, last_seen) VALUES (%s, %s, %s)"
    assert order == (0, 1, 1)


def test_question_marks_and_percents_inside_literals_and_comments_are_text() -> None:
    sql = "SELECT '?', 'it''s 50% ?', \"odd?col\" FROM t -- why? 10%\nWHERE x = ? /* ? */ AND y LIKE 'a%'"
    text, order = pg_sql(sql)
    assert text == (
        "SELECT '?', 'it''s 50%% ?', \"odd?col\" FROM t -- why? 10%%\nWHERE x = %s /* ? */ AND y LIKE 'a%%'"
    )
    assert order is None


def test_a_percent_outside_literals_is_escaped() -> None:
    assert pg_sql("SELECT 7 % ?")[0] == "SELECT 7 %% %s"


def test_mixing_plain_and_numbered_parameters_is_refused() -> None:
    with pytest.raises(ValueError, match="mixes"):
        pg_sql("SELECT ?1, ?")


def test_the_conversion_is_cached() -> None:
    sql = "SELECT ? /* cached */"
    assert pg_sql(sql) is pg_sql(sql)


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://vy:s3cret@db.example:5433/vy", "postgresql://vy:***@db.example:5433/vy"),
        ("postgresql://vy@db/vy", "postgresql://vy@db/vy"),
        ("postgresql://vy:p%40ss@[::1]/vy?sslmode=require", "postgresql://vy:***@[::1]/vy?sslmode=require"),
        (
            "postgresql://vy:pw@db:notaport/vy",
            "<unreadable URL>",
        ),
    ],
)
def test_a_url_is_shown_without_its_password(dsn: str, shown: str) -> None:
    assert redacted_url(dsn) == shown


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "voltyard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_backend_is_sqlite_with_no_url() -> None:
    config = load_config(None)
    assert (config.store.backend, config.store.dsn) == ("sqlite", None)


def test_postgresql_needs_a_url(tmp_path: Path) -> None:
    path = _config(tmp_path, '[store]\nbackend = "postgresql"\n')
    with pytest.raises(ConfigError, match=rf"^{path}: store\.dsn: missing"):
        load_config(path)


def test_an_unknown_backend_is_refused_naming_the_choices(tmp_path: Path) -> None:
    path = _config(tmp_path, '[store]\nbackend = "mysql"\n')
    with pytest.raises(ConfigError, match=r"store\.backend: 'mysql' is not one of 'sqlite', 'postgresql'"):
        load_config(path)


def test_a_url_that_is_not_postgresql_is_refused_without_its_password(tmp_path: Path) -> None:
    path = _config(tmp_path, '[store]\nbackend = "postgresql"\ndsn = "mysql://u:hunter2@db/x"\n')
    with pytest.raises(ConfigError, match=r"store\.dsn: 'mysql://u:\*\*\*@db/x' is not a postgresql:// URL"):
        load_config(path)


def test_a_url_with_a_bad_port_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, '[store]\nbackend = "postgresql"\ndsn = "postgresql://u:pw@db:x/vy"\n')
    with pytest.raises(ConfigError, match=r"store\.dsn: .*[Pp]ort") as raised:
        load_config(path)
    assert "pw" not in str(raised.value)


def test_a_url_with_the_sqlite_backend_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, '[store]\ndsn = "postgresql://db/vy"\n')
    with pytest.raises(ConfigError, match=r'store\.dsn: set, but store\.backend is "sqlite"'):
        load_config(path)


def test_check_config_shows_the_backend_and_the_url_without_its_password(tmp_path: Path) -> None:
    path = _config(
        tmp_path, '[store]\nbackend = "postgresql"\ndsn = "postgresql://vy:hunter2@127.0.0.1:5432/vy"\n'
    )
    shown = render_config(load_config(path))
    assert 'backend = "postgresql"  # file' in shown
    assert 'dsn = "postgresql://vy:***@127.0.0.1:5432/vy"  # file' in shown
    assert "hunter2" not in shown


def test_a_plain_insert_of_parameters_becomes_a_copy() -> None:
    assert copy_sql("INSERT INTO events (time, kind, charger_id, data) VALUES (?, ?, ?, ?)") == (
        "COPY events (time, kind, charger_id, data) FROM STDIN"
    )
    multiline = "\nINSERT INTO status_history (charger_id,\n    connector_id)\nVALUES (?, ?)\n"
    assert copy_sql(multiline) == "COPY status_history (charger_id, connector_id) FROM STDIN"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO NOTHING",
        "INSERT INTO t (a, b) VALUES (?, 1)",
        "INSERT INTO t (a, b) VALUES (?, ?) RETURNING a",
        "INSERT INTO t (a, b) VALUES (?, ?, ?)",
        "INSERT INTO t VALUES (?, ?)",
        "INSERT INTO t (a, b) SELECT ?, ?",
        "UPDATE t SET a = ? WHERE b = ?",
    ],
)
def test_anything_but_a_plain_insert_of_parameters_is_not_a_copy(sql: str) -> None:
    assert copy_sql(sql) is None
