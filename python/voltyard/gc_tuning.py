"""Python's cyclic garbage collector in a server that holds thousands of connections: tuned once start-up is
done, and its pauses measured, since a collection stops the event loop and every charger waits for it.

Reference counting frees almost everything a message allocates; the collector only finds cycles. It runs by
generation: a young collection every `threshold0` allocations, a generation-1 collection every `threshold1`
young ones (it scans all that survived them), a full one every `threshold2` of those when the long-lived
objects grew by a quarter. Under steady load few objects survive, so collections are short. In a reconnect
storm most of what is young survives (each new connection's state, the handshakes in flight), and a
generation-1 collection at CPython's `threshold1` of 10 scanned some 200 000 objects: 50-110 ms with the loop
stopped, at 9 000 chargers on this project's 2-core bench machine (bench/bench_overload.py). At 2 it scans a
fifth of that, about 30 ms, and the young collections are unchanged.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

__all__ = ["GC_THRESHOLDS", "GcPauses", "tune_garbage_collector"]

# threshold0: at CPython's 700 the collector would run hundreds of times a second under load for nothing;
# threshold1: see the module's docstring; threshold2: CPython's.
GC_THRESHOLDS = (20_000, 2, 10)
GENERATIONS = 3


def tune_garbage_collector() -> None:
    """Move what start-up allocated out of the collector's sight (it lives as long as the process) and set
    the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class GcPauses:
    """Counts the collector's runs and the time the process stood still in them, per generation, and keeps
    the longest since the last `take_worst` (for /metrics, like the loop's lag)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.collections = [0] * GENERATIONS
        self.seconds = [0.0] * GENERATIONS
        self.worst = [0.0] * GENERATIONS
        self._started = 0.0

    def install(self) -> None:
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def uninstall(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def take_worst(self) -> list[float]:
        worst, self.worst = self.worst, [0.0] * GENERATIONS
        return worst

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self._clock()
            return
        generation = info["generation"]
        took = self._clock() - self._started
        self.collections[generation] += 1
        self.seconds[generation] += took
        self.worst[generation] = max(self.worst[generation], took)
