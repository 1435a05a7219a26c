"""Counters of the running appliance for Prometheus: messages by action and direction, CALLERRORs by code,
a histogram of the time from a CALL's arrival to its answer, and the listeners' handshakes by outcome.
Plain dicts: the hot path pays a few hundred nanoseconds per message (a `Counter`, a dict subclass, would
double the cost of an increment, which the interpreter only specialises for exact dicts)."""

from __future__ import annotations

import bisect

__all__ = ["FASTEST_HANDLING", "HANDLING_BUCKETS", "Metrics", "count"]

# Seconds. Fast answers are tens of microseconds; durable ones wait for an fsync (milliseconds).
HANDLING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
FASTEST_HANDLING = HANDLING_BUCKETS[0]


def count(counts: dict[str, int], key: str) -> None:
    """Adds one to `counts[key]` (the hot path inlines this)."""
    counts[key] = counts.get(key, 0) + 1


class Metrics:
    """See the module docstring."""

    def __init__(self) -> None:
        # CALLs by action: from chargers (in) and to them (out). Keyed by the action alone, whose string
        # hash is cached, rather than by an (action, direction) tuple built and hashed per message.
        self.calls_in: dict[str, int] = {}
        self.calls_out: dict[str, int] = {}
        self.call_errors: dict[str, int] = {}
        self.handling_counts = [0] * (len(HANDLING_BUCKETS) + 1)
        self.handling_sum = 0.0
        # Charger connections that stopped being read (back-pressure) and that were closed, by reason
        # (voltyard.gateway.connection names them).
        self.connections_paused: dict[str, int] = {}
        self.connections_closed: dict[str, int] = {}
        # The listeners' side (voltyard.gateway): websocket handshakes by outcome ("accepted", "refused",
        # "timed_out"), and messages held to a later turn of the loop by its per-turn budget.
        self.handshakes: dict[str, int] = {}
        self.messages_deferred = 0

    @property
    def messages(self) -> dict[tuple[str, str], int]:
        """CALLs by (action, direction)."""
        counts = {(action, "in"): count for action, count in self.calls_in.items()}
        return counts | {(action, "out"): count for action, count in self.calls_out.items()}

    def handled(self, seconds: float) -> None:
        self.handling_sum += seconds
        if seconds <= FASTEST_HANDLING:  # nearly every answer: no search (the hot path inlines this case)
            self.handling_counts[0] += 1
        else:
            self.handling_counts[bisect.bisect_left(HANDLING_BUCKETS, seconds)] += 1
