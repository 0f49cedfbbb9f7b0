"""Prometheus metrics of the sinks, each sink with its own registry.

Names follow the house rule (``omni_`` prefix, base units, ``_total``
counters). A private registry per sink keeps two sinks in one test process
apart; ``serve`` exposes it on ``/metrics`` when a port is configured.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class SinkMetrics:
    """What both sinks count: records by outcome, dead letters, batch time."""

    def __init__(self, sink: str) -> None:
        self.sink = sink
        self.registry = CollectorRegistry()
        self.records = Counter(
            "omni_sink_records_total",
            "View records taken off Kafka, by view and outcome "
            "(delivered, upserted, deleted, redelivered, dead_letter).",
            ["sink", "view", "outcome"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "omni_dead_letters_total",
            "Records sent to the dead-letter topic, by reason.",
            ["reason", "topic"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "omni_sink_batch_seconds",
            "Time to handle one consumed batch, commit included.",
            ["sink"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self._server: WSGIServer | None = None

    def record(self, view: str, outcome: str, count: int = 1) -> None:
        self.records.labels(sink=self.sink, view=view, outcome=outcome).inc(count)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve ``/metrics`` from a daemon thread (prometheus_client's own server)."""
        self._server, _ = start_http_server(port, addr=host, registry=self.registry)

    def close(self) -> None:
        """Stop serving ``/metrics`` (a stopped sink frees its port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class WebhookMetrics(SinkMetrics):
    """Adds what a channel owner asks about: deliveries, latency, retries, breakers."""

    def __init__(self) -> None:
        super().__init__("webhook")
        self.deliveries = Counter(
            "omni_webhook_deliveries_total",
            "Changes handed to an endpoint, by outcome (delivered, rejected, exhausted).",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "omni_webhook_delivery_seconds",
            "From the first attempt to the final outcome, retries included.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "omni_webhook_retries_total",
            "Attempts after the first, by endpoint and the reason of the failed one.",
            ["endpoint", "reason"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "omni_webhook_breaker_state",
            "Circuit breaker per endpoint: 0 closed, 1 open, 2 half-open.",
            ["endpoint"],
            registry=self.registry,
        )
