"""`[cluster]` as a user writes it: `check-config` shows it (the Redis password as ***), a bad value stops
`serve` and `check-config` with one line naming the file and the key, and no Redis is needed without it."""

from __future__ import annotations

from pathlib import Path

from tests.journeys.appliance import voltyard


def test_check_config_shows_the_cluster_with_its_password_hidden(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text('[cluster]\nredis = "redis://ops:hunter2@10.1.2.3:6379/1"\nnode_id = "site-a"\n')
    result = voltyard("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert 'redis = "redis://ops:***@10.1.2.3:6379/1"  # file' in result.stdout
    assert 'node_id = "site-a"  # file' in result.stdout
    assert "lease = 6.0  # default" in result.stdout
    assert "hunter2" not in result.stdout


def test_no_cluster_by_default() -> None:
    result = voltyard("check-config")
    assert result.returncode == 0, result.stderr
    assert 'redis = ""  # default' in result.stdout


def test_a_bad_cluster_value_stops_serve_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "voltyard.toml"
    config.write_text('[cluster]\nredis = "http://ops:hunter2@10.1.2.3:6379"\n')
    for command in ("serve", "check-config"):
        result = voltyard(command, "--config", str(config), "--data-dir", str(tmp_path / "data"))
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"voltyard: {config}: cluster.redis: http://ops:***@10.1.2.3:6379 is not a Redis URL "
            "(redis://host:port/db, rediss://... or unix://...)"
        ], command
    config.write_text('[cluster]\nnode_id = "site a"\n')
    result = voltyard("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert f"{config}: cluster.node_id: 'site a' is not a node id" in result.stderr
