"""The garbage collector's tuning and the pauses it records (what /metrics reports of it)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from voltyard.gc_tuning import GC_THRESHOLDS, GcPauses, tune_garbage_collector


class QuarterSecondClock:
    """Each reading a quarter second after the last: every collection seems to take 0.25 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


@pytest.fixture
def pauses() -> Iterator[GcPauses]:
    recorder = GcPauses(clock=QuarterSecondClock())
    recorder.install()
    yield recorder
    recorder.uninstall()


def test_a_full_collection_is_counted_with_its_pause(pauses: GcPauses) -> None:
    before = pauses.collections[2]

    gc.collect()

    assert pauses.collections[2] == before + 1
    assert pauses.worst[2] == 0.25
    assert pauses.seconds[2] == pytest.approx(0.25 * pauses.collections[2])


def test_the_worst_pause_is_taken_once_per_scrape(pauses: GcPauses) -> None:
    gc.collect(1)

    assert pauses.take_worst()[1] == 0.25
    assert pauses.take_worst() == [0.0, 0.0, 0.0]
    assert pauses.collections[1] >= 1  # the counters are not reset by a scrape


def test_uninstalled_it_records_nothing_and_installing_twice_records_once() -> None:
    recorder = GcPauses(clock=QuarterSecondClock())
    recorder.install()
    recorder.install()
    gc.collect()
    assert recorder.collections[2] == 1
    recorder.uninstall()

    gc.collect()

    assert recorder.collections[2] == 1
    assert recorder._on_collection not in gc.callbacks


def test_tuning_freezes_start_up_and_sets_the_thresholds() -> None:
    thresholds = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
