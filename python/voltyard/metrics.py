"""Counters of the running appliance for Prometheus: messages by action and direction, CALLERRORs by code,
and a histogram of the time from a CALL's arrival to its answer. Plain dicts: the hot path pays a few
hundred nanoseconds per message."""

from __future__ import annotations

import bisect
from collections import Counter

__all__ = ["HANDLING_BUCKETS", "Metrics"]

# Seconds. Fast answers are tens of microseconds; durable ones wait for an fsync (milliseconds).
HANDLING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_FASTEST = HANDLING_BUCKETS[0]


class Metrics:
    """See the module docstring."""

    def __init__(self) -> None:
        # CALLs by action: from chargers (in) and to them (out). Keyed by the action alone, whose string
        # hash is cached, rather than by an (action, direction) tuple built and hashed per message.
        self.calls_in: Counter[str] = Counter()
        self.calls_out: Counter[str] = Counter()
        self.call_errors: Counter[str] = Counter()
        self.handling_counts = [0] * (len(HANDLING_BUCKETS) + 1)
        self.handling_sum = 0.0

    @property
    def messages(self) -> dict[tuple[str, str], int]:
        """CALLs by (action, direction)."""
        counts = {(action, "in"): count for action, count in self.calls_in.items()}
        return counts | {(action, "out"): count for action, count in self.calls_out.items()}

    def handled(self, seconds: float) -> None:
        self.handling_sum += seconds
        if seconds <= _FASTEST:  # nearly every answer: no search
            self.handling_counts[0] += 1
        else:
            self.handling_counts[bisect.bisect_left(HANDLING_BUCKETS, seconds)] += 1
