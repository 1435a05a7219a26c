"""The store's health as /health reports it: is the writer alive, do commits succeed, is there room on disk.

Issue 17: a writer that had died, commits failing on a full disk and a store with damaged pages all left
/health saying `ok`. `StoreHealth.judge` turns the writer's counters and the data directory's free space into
one verdict with the reasons for it; the runtime polls it to raise an alert and log one line when the
verdict changes (voltyard.runtime), and the API shows it (GET /api/v1/health).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["StoreHealth"]


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """One look at the store; `problems` is empty when it is ok, else says what is wrong, one reason each."""

    running: bool
    error: str | None  # why the writer stopped, when it has
    commits: int
    commits_failed: int
    rows_failed: int
    last_commit_age_s: float | None  # None before the first commit
    free_bytes: int | None  # free space of the data directory's volume for this user; None if unknown
    min_free_bytes: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @classmethod
    def judge(
        cls,
        *,
        running: bool,
        error: str | None,
        commits: int,
        commits_failed: int,
        rows_failed: int,
        last_commit_at: float | None,
        last_failure: str | None,
        corrupt: str | None,
        free_bytes: int | None,
        min_free_bytes: int,
    ) -> StoreHealth:
        """The verdict from the writer's state (voltyard.store.writer) and the volume's free space."""
        problems: list[str] = []
        if not running:
            problems.append(f"the store writer has stopped ({error}); nothing is stored")
        if corrupt is not None:
            problems.append(f"the store has damaged pages ({corrupt})")
        if last_failure is not None:
            problems.append(f"store commits are failing ({last_failure})")
        if free_bytes is not None and free_bytes < min_free_bytes:
            problems.append(
                f"the data directory's volume has {free_bytes // 2**20} MiB free, below the "
                f"{min_free_bytes // 2**20} MiB of [store] min_free_disk_mb"
            )
        age = None if last_commit_at is None else round(max(0.0, time.time() - last_commit_at), 1)
        return cls(
            running,
            error,
            commits,
            commits_failed,
            rows_failed,
            age,
            free_bytes,
            min_free_bytes,
            tuple(problems),
        )
