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

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """Every metric a worker exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "omni_events_processed_total",
            "Events taken off input topics, by outcome "
            "(applied, duplicate, late, rejected, dead_letter).",
            ["topic", "type", "outcome"],
            registry=self.registry,
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
