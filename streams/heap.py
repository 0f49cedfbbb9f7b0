"""Keep the worker's long-lived Python objects out of the garbage collector's full passes.

CPython's full (generation 2) collection walks every tracked object, and on
this machine that costs about 170 ns an object. A worker holds some 150k of
them once it runs (modules, Faust's services, aiokafka's cluster metadata),
so each full pass stopped the event loop for 60-90 ms, and they came in
bursts of five or six while a load warmed up: in the B5 runs where a burst
fell inside the measured window, the query API's p99 at 2k requests/s went
from 2.5 ms to 100-200 ms.

Those objects live as long as the process. So when the worker has settled
(each completed rebalance: new metadata, newly opened table partitions),
:func:`settle` collects once and freezes what is left (``gc.freeze``): later
full passes walk only what was allocated since. What is frozen is never
collected; a cycle that becomes garbage later stays in memory, which for
start-up and assignment objects is a few kilobytes at most.

The young generation is collected every ``OMNI_STREAMS__GC_YOUNG_OBJECTS``
allocations (net of deallocations) rather than CPython's 700. A worker
allocates some dicts, dataclasses and tuples per event, nearly all of them
freed by reference counting within the run; at 700 the collector traversed
the run's live objects every few events. At 20,000, B1 went from 4.5k to
5.4k events/s (224 to 187 CPU µs an event), measured back to back. The older
generations keep CPython's ratios, so a cycle still lives at most a few
young passes longer.

SREs see every pass in ``omni_gc_pause_seconds{generation}``.
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import faust

    from streams.metrics import Metrics


def settle() -> int:
    """Collect once, then freeze every surviving object; returns how many are frozen now."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def install(app: faust.App, metrics: Metrics, young_objects: int) -> None:
    """Freeze after every completed rebalance, set the young threshold, time every pass."""

    async def on_rebalance_complete(sender: Any, *args: Any, **kwargs: Any) -> None:
        settle()

    app.on_rebalance_complete.connect(on_rebalance_complete)  # type: ignore[arg-type]
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_objects, older, oldest)
    # One timer per process (a test may build several apps): the newest app's metrics.
    gc.callbacks[:] = [c for c in gc.callbacks if not isinstance(c, _PauseTimer)]
    gc.callbacks.append(_PauseTimer(metrics))


class _PauseTimer:
    """A ``gc.callbacks`` hook: the pause of each pass, observed per generation."""

    def __init__(self, metrics: Metrics) -> None:
        self._pauses = {gen: metrics.gc_pauses.labels(str(gen)) for gen in range(3)}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._pauses[info["generation"]].observe(time.perf_counter() - self._started)
