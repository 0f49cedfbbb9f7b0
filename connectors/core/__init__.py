"""The connector framework: what every channel connector reuses.

A connector turns what a channel already sends into the contract's Avro
events. This package gives it everything but the mapping:

``Publisher`` (``publisher.py``)
    ``Publisher(settings, client_id="omni-pos", max_in_flight=50_000, metrics=m)``;
    ``await publisher.prepare(records)`` looks schema ids up once at start-up;
    ``await publisher.publish_many([Outgoing(record, value), ...])`` encodes
    (Confluent wire format, TopicRecordNameStrategy, the project's codec), keys
    and routes each record by the catalogue, and returns once Kafka acknowledged
    every one (``acks=all``, idempotent). It raises ``InvalidEvent`` (a field
    does not fit the schema; named), ``Backpressure`` (the in-flight bound: refuse
    with 503 + Retry-After, never buffer) or ``PublishError`` (not acknowledged).
    ``await publisher.dead_letter(raw, key=..., reason=..., error=..., origin=...)``
    keeps refused input on ``omni.dlq`` with the usual headers;
    ``await publisher.close()`` flushes.

``Outgoing``, ``event_id_for``, ``derived_event_id``, ``sha256_email``/``_phone`` (``events.py``)
    Plain data for pure mapping modules: deterministic event ids from a
    channel's own ids (so retries deduplicate) and the contract's hashes.

``HttpService`` (``http.py``)
    Subclass it, implement ``add_routes(app)`` (and ``prepare()`` to warm the
    publisher); raise ``RequestError`` subclasses for bad input. It answers
    errors as ``{"error": code, "detail": message}``, serves ``/healthz`` and
    ``/metrics``, logs one JSON line per request, does CORS when asked and stops
    gracefully: stop accepting, finish running requests, flush the producer.

``ConnectorMetrics`` (``metrics.py``)
    ``omni_connector_requests_total``, ``..._events_total``, ``..._rejects_total``,
    ``..._dead_letters_total``, ``..._publish_latency_seconds``, ``..._in_flight_records``.

``serve``, ``run``, ``Service`` (``runner.py``) and ``configure_logging`` (``logs.py``)
    Run a ``Service`` (``start``/``stop``) until SIGTERM/SIGINT; exit 0 after a clean stop.

Errors (``exceptions.py``) root at ``ConnectorError``; each knows its HTTP status.

A new channel is one module with ``create(settings) -> Service`` plus one line
in ``connectors/registry.py``; see the README's "Connectors" section.
"""

from connectors.core.events import (
    Outgoing,
    derived_event_id,
    event_id_for,
    sha256_email,
    sha256_phone,
)
from connectors.core.exceptions import (
    Backpressure,
    ConnectorConfigError,
    ConnectorError,
    InvalidEvent,
    MalformedBody,
    PayloadTooLarge,
    PublishError,
    RequestError,
    Unauthorized,
    UnknownConnector,
    UnsupportedEncoding,
)
from connectors.core.http import HttpService, error_response, json_response
from connectors.core.logs import configure_logging, get_logger
from connectors.core.metrics import ConnectorMetrics
from connectors.core.publisher import Publisher
from connectors.core.runner import Service, ServiceFactory, run, serve

__all__ = [
    "Backpressure",
    "ConnectorConfigError",
    "ConnectorError",
    "ConnectorMetrics",
    "HttpService",
    "InvalidEvent",
    "MalformedBody",
    "Outgoing",
    "PayloadTooLarge",
    "PublishError",
    "Publisher",
    "RequestError",
    "Service",
    "ServiceFactory",
    "Unauthorized",
    "UnknownConnector",
    "UnsupportedEncoding",
    "configure_logging",
    "derived_event_id",
    "error_response",
    "event_id_for",
    "get_logger",
    "json_response",
    "run",
    "serve",
    "sha256_email",
    "sha256_phone",
]
