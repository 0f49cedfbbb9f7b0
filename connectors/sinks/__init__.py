"""Sinks that hand the compacted view topics to downstream channels.

* :class:`WebhookSink` (``webhook-sink``): each change POSTed as signed JSON to
  the endpoints of the channels that subscribe to its view.
* :class:`PostgresSink` (``postgres-sink``): each view kept as a table, one
  row per key, batched and idempotent.

Both read with manual commits and commit only what is done; undecodable or
undeliverable records go to ``omni.dlq`` with their original bytes.
"""

from connectors.sinks.exceptions import (
    BreakerOpen,
    DatabaseFailed,
    DeadLetterFailed,
    DeliveryError,
    DeliveryRejected,
    DeliveryRetryable,
    KafkaFailed,
    MissingKey,
    SinkConfigError,
    SinkError,
)
from connectors.sinks.postgres import PostgresSink
from connectors.sinks.webhook import WebhookSink

__all__ = [
    "BreakerOpen",
    "DatabaseFailed",
    "DeadLetterFailed",
    "DeliveryError",
    "DeliveryRejected",
    "DeliveryRetryable",
    "KafkaFailed",
    "MissingKey",
    "PostgresSink",
    "SinkConfigError",
    "SinkError",
    "WebhookSink",
]
