"""Prometheus metrics of a worker, served on its ``/metrics``.

Names follow the house rule: ``omni_`` prefix, base units, counters end in
``_total``. Each worker owns a private registry so that two apps in one test
process do not collide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    import faust

SAMPLE_INTERVAL_S = 5.0
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
GC_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


class CachedLabels:
    """A labelled counter whose children are looked up once per label set.

    ``Counter.labels`` validates and locks on every call (about 2% of a busy
    worker when called per event); the set of label values is small and fixed.
    """

    def __init__(self, metric: Counter) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def labels(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class Metrics:
    """Every metric a worker exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = CachedLabels(
            Counter(
                "omni_events_processed_total",
                "Events taken off input topics, by outcome "
                "(applied, duplicate, late, rejected, dead_letter, replayed).",
                ["topic", "type", "outcome"],
                registry=self.registry,
            )
        )
        self.latency = Histogram(
            "omni_processing_latency_seconds",
            "From the event's occurred_at to its view being emitted.",
            ["view"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "omni_dead_letters_total",
            "Records sent to the dead-letter topic, by reason.",
            ["reason", "topic"],
            registry=self.registry,
        )
        self.table_keys = Gauge(
            "omni_table_keys",
            "Keys held in each table on this worker (active partitions).",
            ["table"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "omni_consumer_lag_records",
            "Records between the committed offset and the end of each input partition.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.rebalances = Counter(
            "omni_rebalances_total",
            "Partition rebalances this worker went through.",
            registry=self.registry,
        )
        self.fenced = Counter(
            "omni_runs_fenced_total",
            "Runs left unapplied or unwritten because their partition's revoke began "
            "(the new owner applies them again).",
            ["processor"],
            registry=self.registry,
        )
        self.gc_pauses = Histogram(
            "omni_gc_pause_seconds",
            "Garbage-collector passes, by generation: each stops the worker's event loop.",
            ["generation"],
            buckets=GC_BUCKETS,
            registry=self.registry,
        )
        self.views = Counter(
            "omni_views_emitted_total",
            "View records (and tombstones) emitted, by view topic.",
            ["view"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def install(self, app: faust.App) -> None:
        """Serve ``/metrics`` and count rebalances."""
        metrics = self

        @app.page("/metrics")
        async def metrics_page(web: Any, request: Any) -> Any:
            return web.bytes(metrics.render(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

        async def on_rebalance_complete(sender: Any, *args: Any, **kwargs: Any) -> None:
            metrics.rebalances.inc()

        app.on_rebalance_complete.connect(on_rebalance_complete)  # type: ignore[arg-type]

        async def sample_gauges() -> None:
            metrics.sample(app)

        app.timer(interval=SAMPLE_INTERVAL_S)(sample_gauges)

    def sample(self, app: faust.App) -> None:
        """Table sizes and consumer lag, read from Faust's internals cheaply.

        Counting keys would scan RocksDB, so the size is RocksDB's own
        estimate. Lag is the high-water mark minus the committed offset: the
        records this worker has taken responsibility for but not committed.
        """
        for table in app.tables.values():
            self.table_keys.labels(table.name).set(estimate_keys(table))
        consumer = app.consumer
        committed: dict[Any, int | None] = getattr(consumer, "_committed_offset", {})
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            done = committed.get(tp)
            lag = highwater - (done + 1 if done is not None else 0)
            self.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(lag, 0))


def estimate_keys(table: Any) -> int:
    """RocksDB's estimate of the keys in the table's partitions on this worker."""
    dbs = getattr(table.data, "_dbs", None)
    if dbs is None:
        return len(table.data) if hasattr(table.data, "__len__") else 0
    total = 0
    for db in list(dbs.values()):
        value = db.property_int_value("rocksdb.estimate-num-keys")
        total += int(value or 0)
    return total
