"""Errors of the connector framework and of every connector built on it.

    OmniError                      (schemas.exceptions)
    └── ConnectorError             root of the connectors package
        ├── ConnectorConfigError   a connector's settings cannot work (bad write key channel, ...)
        ├── UnknownConnector       ``omni connector run NAME`` with a name the registry lacks
        ├── RequestError           the caller sent something we refuse: a 4xx answer
        │   ├── Unauthorized       401: no or unknown credentials (write key, HMAC, ...)
        │   ├── PayloadTooLarge    413: body or event above a limit
        │   ├── UnsupportedEncoding 415: a Content-Encoding we do not read
        │   ├── MalformedBody      400: not JSON, not an object, bad gzip
        │   └── InvalidEvent       400: an event field is wrong; the message names the field
        └── PublishError           Kafka did not take the records: a 503, retry later
            └── Backpressure       too many records in flight; nothing of the request was sent

Every ``RequestError`` and ``PublishError`` knows its HTTP status and a short
machine-readable ``code``, so the HTTP base answers all of them the same way
(``{"error": code, "detail": message}``) without a table of cases.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.exceptions import OmniError


class ConnectorError(OmniError):
    """Root of the connectors package's errors."""

    status = 500
    code = "internal"


class ConnectorConfigError(ConnectorError):
    """Settings that no connector could run with; raised at start-up, never per request."""

    code = "config"


class UnknownConnector(ConnectorError):
    """A connector name that ``connectors.registry`` does not list."""

    code = "unknown_connector"


class RequestError(ConnectorError):
    """The caller's fault: answered with a 4xx, never retried by a well-behaved client."""

    status = 400
    code = "bad_request"


class Unauthorized(RequestError):
    status = 401
    code = "unauthorized"


class PayloadTooLarge(RequestError):
    status = 413
    code = "payload_too_large"


class UnsupportedEncoding(RequestError):
    status = 415
    code = "unsupported_encoding"


class MalformedBody(RequestError):
    code = "malformed_body"


class InvalidEvent(RequestError):
    """One or more fields are wrong; ``problems`` holds ``path: message`` strings."""

    code = "invalid_event"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class PublishError(ConnectorError):
    """Kafka refused or did not acknowledge records in time; the caller should retry."""

    status = 503
    code = "publish_failed"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class Backpressure(PublishError):
    """The in-flight bound is reached: refused before anything was produced."""

    code = "backpressure"
