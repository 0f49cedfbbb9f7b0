"""Prometheus metrics every connector exports on its ``/metrics``.

One private registry per connector instance, so two connectors (or two test
servers) in one process never collide. Names follow the house rule: ``omni_``
prefix, base units, counters end in ``_total``; the connector's name is a label
so one dashboard serves every channel.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ConnectorMetrics:
    """Requests, events, rejects, dead letters, publish latency and records in flight."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, connector: str) -> None:
        self.connector = connector
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "omni_connector_requests_total",
            "HTTP requests answered, by route and status code.",
            ["connector", "route", "status"],
            registry=self.registry,
        )
        self.events = Counter(
            "omni_connector_events_total",
            "Records Kafka acknowledged, by record type.",
            ["connector", "record"],
            registry=self.registry,
        )
        self.rejects = Counter(
            "omni_connector_rejects_total",
            "Requests refused, by reason (the error code of the answer).",
            ["connector", "reason"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "omni_connector_dead_letters_total",
            "Records sent to the dead-letter topic, by reason.",
            ["connector", "reason"],
            registry=self.registry,
        )
        self.publish_latency = Histogram(
            "omni_connector_publish_latency_seconds",
            "From handing a request's records to the producer to Kafka acknowledging all of them.",
            ["connector"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "omni_connector_in_flight_records",
            "Records produced and not yet acknowledged by Kafka.",
            ["connector"],
            registry=self.registry,
        )

    def track_in_flight(self, read: Callable[[], int]) -> None:
        """Read the publisher's counter at scrape time instead of updating a gauge per record."""
        self.in_flight.labels(self.connector).set_function(read)

    def request(self, route: str, status: int) -> None:
        self.requests.labels(self.connector, route, str(status)).inc()

    def reject(self, reason: str) -> None:
        self.rejects.labels(self.connector, reason).inc()

    def published(self, counts: dict[str, int], seconds: float) -> None:
        """One call per publish, with per-record counts: a label lookup per event would cost."""
        for record, count in counts.items():
            self.events.labels(self.connector, record).inc(count)
        self.publish_latency.labels(self.connector).observe(seconds)

    def dead_lettered(self, reason: str) -> None:
        self.dead_letters.labels(self.connector, reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
