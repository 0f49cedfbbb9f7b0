"""The worker's heap: long-lived objects frozen out of full collections, every pass timed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import faust
import pytest

from streams import heap
from streams.metrics import Metrics


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _observed(metrics: Metrics, generation: int) -> float:
    value = metrics.registry.get_sample_value(
        "omni_gc_pause_seconds_count", {"generation": str(generation)}
    )
    return value or 0.0


def test_settle_freezes_what_survives_and_collects_the_rest(unfrozen: None) -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    garbage = Node()
    gone = weakref.ref(garbage)
    alive = Node()
    del garbage
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() > 0
    assert gone() is None, "a cycle that was garbage got frozen instead of collected"
    # Frozen objects are out of the collector's generations: a full pass skips them.
    assert all(o is not alive for o in gc.get_objects(generation=2))


def test_every_pass_is_observed_by_generation_once_per_process(unfrozen: None) -> None:
    first, second = Metrics(), Metrics()
    young = gc.get_threshold()[0]
    heap.install(faust.App("heap-a", broker="memory://"), first, young)
    heap.install(faust.App("heap-b", broker="memory://"), second, young)
    before = _observed(second, 2)
    gc.collect()
    assert _observed(second, 2) == before + 1
    assert _observed(first, 2) == 0, "an older app's timer is still installed"
    assert sum(isinstance(c, heap._PauseTimer) for c in gc.callbacks) == 1


def test_install_sets_the_young_threshold_and_keeps_the_older_ratios() -> None:
    saved = gc.get_threshold()
    try:
        heap.install(faust.App("heap-c", broker="memory://"), Metrics(), young_objects=12_345)
        assert gc.get_threshold() == (12_345, saved[1], saved[2])
    finally:
        gc.set_threshold(*saved)
