"""Batch delivery for agents: one decode-apply-write-emit pass per batch.

Faust dispatches messages one by one; what we can control is what happens per
message after that. Agents take events in batches, decode with the cached
fastavro path, apply the pure rules in memory, then write each touched table
key once and emit each changed view once. Table writes need Faust's "current
event" (it picks the RocksDB partition and the changelog partition), so the
batch is split by source partition and the current event is set to one event
of that partition while its keys are written. The stream acks the whole batch
only after the agent body finished, so offsets are committed after the
writes and emissions they caused (at-least-once; event ids make it
exactly-once in effect).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from faust.streams import _current_event
from faust.types import EventT, StreamT


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The raw Kafka record behind a Faust event: what a dead letter must keep.

    Same shape as the batching transport's records (aiokafka's
    ``ConsumerRecord``), so processors handle both delivery modes alike.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int  # milliseconds since the epoch
    headers: Sequence[tuple[str, bytes]] = ()


def raw(event: EventT[Any]) -> RawRecord:
    message = event.message
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp=int((message.timestamp or 0) * 1000),
        headers=tuple(message.headers or ()),  # type: ignore[arg-type]
    )


async def batches(
    stream: StreamT[Any], max_records: int, max_wait_s: float
) -> AsyncIterator[Sequence[EventT[Any]]]:
    """Lists of events, at most ``max_records``, flushed after ``max_wait_s``."""
    # take_events is on faust's Stream, not on the StreamT interface.
    async for events in stream.take_events(max_records, max_wait_s):  # type: ignore[attr-defined]
        yield events


def by_partition(events: Sequence[EventT[Any]]) -> dict[tuple[str, int], list[EventT[Any]]]:
    """Group a batch by source topic-partition, keeping each one's order."""
    groups: dict[tuple[str, int], list[EventT[Any]]] = defaultdict(list)
    for event in events:
        message = event.message
        groups[(message.topic, message.partition)].append(event)
    return groups


@contextmanager
def current(event: EventT[Any]) -> Iterator[None]:
    """Make ``event`` Faust's current event, so table writes land on its partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
