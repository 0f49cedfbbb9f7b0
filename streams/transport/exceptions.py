"""Errors of the batching transport.

    OmniError                   root of every error the backbone raises on purpose
    └── StreamsError            the stream processors
        └── TransportError      the batching transport
            ├── WrongTransport  a batch topic on an app whose broker is not ``omnibatch://``
            ├── NotABatch       an event handed to the batch API that carries no batch
            └── ChangelogNotAcknowledged  a buffered record (a table write) that failed

The first two are programming errors: they are raised loudly and never turned
into a skipped record, because a silently unbatched topic would decode Python
objects as bytes (or the other way round) and commit past them. The third
stops commits: a table holds a write its changelog lacks.
"""

from __future__ import annotations

from streams.exceptions import StreamsError


class TransportError(StreamsError):
    """Root of the batching transport's errors."""


class WrongTransport(TransportError):
    """A batch topic was declared on an app that does not use the batching driver."""


class NotABatch(TransportError, TypeError):
    """An event (or message) reached the batch API without a ``RecordBatch`` in it."""


class ChangelogNotAcknowledged(TransportError):
    """A record Faust buffered (a changelog write) failed: no offset may be committed past it."""
