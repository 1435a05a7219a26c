"""[cluster] in the configuration: off by default (no Redis needed), a Redis URL and a node id checked at
start with errors that name the file and the key and never show the URL's password."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from voltyard.config import ClusterConfig, load_config, redacted_url
from voltyard.errors import ConfigError


def test_off_by_default() -> None:
    config = load_config(None)
    assert config.cluster == ClusterConfig()
    assert not config.cluster.enabled
    assert config.cluster.node_name() == f"{socket.gethostname()}-{os.getpid()}"


def test_a_cluster_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "voltyard.toml"
    path.write_text('[cluster]\nredis = "redis://:pw@10.0.0.5:6379/2"\nnode_id = "site-a.1"\nlease = 3\n')
    cluster = load_config(path).cluster
    assert cluster.enabled
    assert (cluster.redis, cluster.node_name(), cluster.lease) == (
        "redis://:pw@10.0.0.5:6379/2",
        "site-a.1",
        3.0,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('redis = "http://u:pw@h:6379"', "cluster.redis: http://u:***@h:6379 is not a Redis URL"),
        ('redis = "redis://:pw@:6379"', "cluster.redis: redis://:***@:6379 names no host"),
        ('redis = "redis://:pw@h:port"', "cluster.redis: <unreadable URL> is not a URL"),
        ('node_id = "a b"', "cluster.node_id: 'a b' is not a node id"),
        ('node_id = "a:b"', "cluster.node_id: 'a:b' is not a node id"),
        ("lease = 0.5", "cluster.lease: 0.5 is outside 1..60"),
        ('lease = "x"', "cluster.lease: expected a number"),
        ('redis = "redis://h"\nleader = true', "cluster.leader: unknown key"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "voltyard.toml"
    path.write_text(f"[cluster]\n{text}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert "pw" not in str(error.value)


def test_redacted_url() -> None:
    assert redacted_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redacted_url("rediss://u:pw@[::1]:7000") == "rediss://u:***@[::1]:7000"
    assert redacted_url("redis://h:6379/0") == "redis://h:6379/0"
    assert redacted_url("unix:///run/redis.sock") == "unix:///run/redis.sock"
