"""Batch delivery for Faust: one event per fetched run of records of one partition.

Faust's cost is per message; this package makes a message stand for a whole
fetched run of one topic-partition, so agents pay Faust's dispatch once per
batch and keep Faust's tables, changelogs, recovery, assignment, commits and
web server. See :mod:`streams.transport.driver` for why commits stay
at-least-once and :mod:`streams.transport.ledger` for how offsets are tracked.
"""

from streams.transport.api import (
    Run,
    batch_topic,
    batches,
    register,
    revoked,
    rounds,
    settle,
)
from streams.transport.batch import BatchMessage, RawRecord, RecordBatch, batch_of, iter_batch
from streams.transport.driver import BATCH_SCHEME
from streams.transport.exceptions import NotABatch, TransportError, WrongTransport
from streams.transport.producer import Producer

__all__ = [
    "BATCH_SCHEME",
    "BatchMessage",
    "NotABatch",
    "Producer",
    "RawRecord",
    "RecordBatch",
    "Run",
    "TransportError",
    "WrongTransport",
    "batch_of",
    "batch_topic",
    "batches",
    "iter_batch",
    "register",
    "revoked",
    "rounds",
    "settle",
]
