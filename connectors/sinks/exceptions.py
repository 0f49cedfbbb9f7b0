"""Errors of the view sinks.

    OmniError
    └── ConnectorError                 (connectors.core.exceptions)
        └── SinkError                  the webhook and PostgreSQL sinks
            ├── SinkConfigError        settings that cannot work (unknown view, no endpoint);
            │                          also a ConnectorConfigError
            ├── DeliveryError          one attempt to hand a change to an endpoint failed
            │   ├── DeliveryRetryable  5xx, 408, 429, a timeout or a refused connection
            │   │   └── BreakerOpen    the endpoint's circuit breaker refused the call
            │   └── DeliveryRejected   another 4xx: the receiver refuses this payload for good
            ├── DeadLetterFailed       the dead-letter topic did not take a record
            ├── KafkaFailed            consuming or committing failed
            └── DatabaseFailed         PostgreSQL refused a statement or cannot be reached

    schemas.exceptions.DecodeError
    └── MissingKey                 a view record without a key (poison, like any DecodeError)

Retryable delivery errors are retried with backoff and end in the dead-letter
topic; the others stop the sink with its offsets uncommitted, so nothing is lost.
"""

from __future__ import annotations

from connectors.core.exceptions import ConnectorConfigError, ConnectorError
from schemas.exceptions import DecodeError


class SinkError(ConnectorError):
    """Root of the sinks' errors."""


class SinkConfigError(SinkError, ConnectorConfigError):
    """The sink's settings cannot work."""


class DeliveryError(SinkError):
    """One delivery attempt failed; ``reason`` goes to metrics and dead-letter headers."""

    reason = "delivery_failed"


class DeliveryRetryable(DeliveryError):
    """The endpoint is unhealthy or slow; a later attempt may succeed."""

    reason = "endpoint_unavailable"


class BreakerOpen(DeliveryRetryable):
    """The endpoint failed too often lately; the call was not made."""

    reason = "breaker_open"


class DeliveryRejected(DeliveryError):
    """The endpoint answered with a 4xx other than 408/429: retrying cannot help."""

    reason = "rejected"


class DeadLetterFailed(SinkError):
    """A record could not be written to the dead-letter topic."""


class KafkaFailed(SinkError):
    """The consumer reported a fatal error or could not commit."""


class DatabaseFailed(SinkError):
    """PostgreSQL refused a statement or could not be reached."""


class MissingKey(DecodeError):
    """A view record without a key cannot say which entity it changes."""

    reason = "missing_key"
