"""What a simulator run measures: call latencies per action, errors by code, and the fleet's counters.

Latencies go into log-bucketed histograms (2 % resolution from 1 µs to over an hour, 1100 integers
each) rather than sample lists, so a long run at thousands of calls per second costs constant memory
and a percentile costs one scan. One `Stats` serves the whole fleet: chargers hold no counters.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass

__all__ = ["Counters", "Histogram", "Stats", "TimelinePoint"]

_GROWTH = 1.02
_PER_LOG = 1.0 / math.log(_GROWTH)
_BUCKETS = 1100  # 1.02 ** 1100 µs is about 8 hours


class Histogram:
    """Latency histogram in microseconds with ~2 % relative error; `max` is exact."""

    __slots__ = ("buckets", "count", "max_us", "total_us")

    def __init__(self) -> None:
        self.buckets = [0] * _BUCKETS
        self.count = 0
        self.total_us = 0.0
        self.max_us = 0.0

    def add(self, seconds: float) -> None:
        micros = seconds * 1e6
        index = int(math.log(micros) * _PER_LOG) if micros > 1.0 else 0
        self.buckets[min(index, _BUCKETS - 1)] += 1
        self.count += 1
        self.total_us += micros
        self.max_us = max(self.max_us, micros)

    def merge(self, other: Histogram) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.count += other.count
        self.total_us += other.total_us
        self.max_us = max(self.max_us, other.max_us)

    def percentile_ms(self, fraction: float) -> float:
        """The latency below which `fraction` of the samples fall (0.0 when empty), in milliseconds."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for index, number in enumerate(self.buckets):
            seen += number
            if seen >= rank:
                upper = _GROWTH ** (index + 1) if index else 1.0
                return min(upper, self.max_us) / 1000.0
        return self.max_us / 1000.0

    def summary(self) -> dict[str, float]:
        return {
            "count": self.count,
            "mean_ms": round(self.total_us / self.count / 1000.0, 3) if self.count else 0.0,
            "p50_ms": round(self.percentile_ms(0.50), 3),
            "p95_ms": round(self.percentile_ms(0.95), 3),
            "p99_ms": round(self.percentile_ms(0.99), 3),
            "max_ms": round(self.max_us / 1000.0, 3),
        }


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One second (or one progress interval) of a run, for the progress line, the report and the plot."""

    t: float
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    connected: int
    booted: int
    sessions: int
    site_power_kw: float
    site_limit_kw: float | None


@dataclass(slots=True)
class Counters:
    """Event counters of the fleet, incremented on the hot path."""

    calls: int = 0
    call_errors: int = 0
    timeouts: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    boots: int = 0
    sessions_begun: int = 0
    sessions_ended: int = 0
    starts_accepted: int = 0
    starts_refused: int = 0
    stops_answered: int = 0
    remote_starts: int = 0
    faults_injected: int = 0
    faults_reported: int = 0
    offline_queued: int = 0
    replayed_answered: int = 0
    profiles_accepted: int = 0
    malformed_sent: int = 0  # frames a scenario broke on purpose (a `malformed` step)
    firmware_updates: int = 0  # UpdateFirmware requests the chargers accepted
    firmware_statuses: int = 0  # FirmwareStatusNotification answered (of the update's sequence)
    firmware_installed: int = 0  # ... of which Installed

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class Stats:
    """Fleet-wide measurements; see the module docstring."""

    __slots__ = ("by_action", "counters", "csms_calls", "errors", "window")

    def __init__(self) -> None:
        self.by_action: dict[str, Histogram] = {}
        self.window = Histogram()  # since the last timeline point
        self.errors: Counter[str] = Counter()
        self.csms_calls: Counter[str] = Counter()
        self.counters = Counters()

    def answered(self, action: str, seconds: float) -> None:
        histogram = self.by_action.get(action)
        if histogram is None:
            histogram = self.by_action[action] = Histogram()
        histogram.add(seconds)
        self.window.add(seconds)

    def failed(self, action: str, code: str) -> None:
        """A call answered with a CALLERROR, an invalid answer, or no answer in time."""
        self.errors[f"{action}:{code}"] += 1

    def take_window(self) -> Histogram:
        window, self.window = self.window, Histogram()
        return window

    def total(self) -> Histogram:
        merged = Histogram()
        for histogram in self.by_action.values():
            merged.merge(histogram)
        return merged
