"""The store's verdict for /health (voltyard.store.health): each problem named, ok only without one.

Issue 17, finding 6: a dead writer, failing commits, damaged pages and a nearly full disk all left /health
saying `ok`.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from voltyard.store.health import StoreHealth

MiB = 2**20


def _judge(**changes: Any) -> StoreHealth:
    state: dict[str, Any] = {
        "running": True,
        "error": None,
        "commits": 10,
        "commits_failed": 0,
        "rows_failed": 0,
        "last_commit_at": time.time(),
        "last_failure": None,
        "corrupt": None,
        "free_bytes": 10_000 * MiB,
        "min_free_bytes": 256 * MiB,
    }
    state.update(changes)
    return StoreHealth.judge(**state)


def test_a_store_that_commits_with_room_on_disk_is_ok() -> None:
    health = _judge()
    assert health.ok
    assert health.problems == ()
    assert health.last_commit_age_s is not None
    assert 0 <= health.last_commit_age_s < 60


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"running": False, "error": "OverflowError: too big"},
            "the store writer has stopped (OverflowError",
        ),
        ({"last_failure": "OperationalError: database or disk is full"}, "store commits are failing"),
        ({"corrupt": "database disk image is malformed"}, "the store has damaged pages"),
        ({"free_bytes": 100 * MiB}, "has 100 MiB free, below the 256 MiB of [store] min_free_disk_mb"),
    ],
)
def test_each_problem_makes_the_store_degraded_and_says_why(changes: dict[str, Any], reason: str) -> None:
    health = _judge(**changes)
    assert not health.ok
    assert len(health.problems) == 1
    assert reason in health.problems[0]


def test_problems_add_up_and_a_zero_threshold_turns_the_disk_check_off() -> None:
    health = _judge(last_failure="OperationalError: disk I/O error", free_bytes=0)
    assert len(health.problems) == 2
    assert _judge(free_bytes=0, min_free_bytes=0).ok
    assert _judge(free_bytes=None).ok  # a volume whose free space cannot be read is not a problem by itself


def test_before_the_first_commit_there_is_no_age() -> None:
    assert _judge(last_commit_at=None, commits=0).last_commit_age_s is None
