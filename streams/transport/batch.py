"""What an agent receives from a batch topic: one event per fetched run of records.

The records are aiokafka's own ``ConsumerRecord`` objects, handed over without
copying: decoding them is the agent's job (fastavro in a tight loop), and a
record that fails keeps its original bytes, partition and offset for the DLQ.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import faust
from faust.types import TP, AppT, EventT
from faust.types.tuples import ConsumerMessage, Message

from streams.transport.exceptions import NotABatch


class RawRecord(Protocol):
    """One Kafka record of a batch, as fetched (aiokafka's ``ConsumerRecord`` fits)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int:
        """Milliseconds since the epoch."""
        ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """A run of records of ONE topic-partition, in offset order, as one fetch returned it."""

    tp: TP
    records: Sequence[RawRecord]

    @property
    def last_offset(self) -> int:
        return self.records[-1].offset

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[RawRecord]:
        return iter(self.records)


class BatchMessage(ConsumerMessage):
    """The Faust message of a batch: offset of its last record, value the ``RecordBatch``.

    Faust commits ``offset + 1`` once the message is acked, so it must not be
    acked before every record in it was processed. ``acked`` alone does not say
    that: Faust also acks a message when the agent body raised, and its pure
    Python stream iterator acks messages it skipped during a rebalance. Hence
    two more flags: ``claimed``/``done`` (set by :func:`streams.transport.batches`
    around the agent body) and ``skipped`` (set by the consumer when the ack came
    while the flow was stopped or from an old generation).
    """

    __slots__ = ("batch", "claimed", "done", "skipped")

    def __init__(self, batch: RecordBatch, generation_id: int | None) -> None:
        last = batch.records[-1]
        super().__init__(
            last.topic,
            last.partition,
            last.offset,
            last.timestamp / 1000.0,
            0,
            [],
            None,
            batch,  # type: ignore[arg-type]  # Faust types values as bytes; ours is a batch
            None,
            serialized_key_size=0,
            serialized_value_size=0,
            tp=batch.tp,
            generation_id=generation_id,
        )
        self.batch = batch
        self.claimed = False
        self.done = False
        self.skipped = False

    @property
    def settled(self) -> bool:
        """Safe to commit past: acked, not skipped, and finished if an agent claimed it."""
        return self.acked and not self.skipped and (self.done or not self.claimed)


class BatchSchema(faust.Schema[None, RecordBatch]):
    """Hands the batch through untouched: the consumer already built the value.

    A topic with this schema on an app that does not batch it gets bytes here;
    that is a wiring bug, so it raises instead of letting Faust skip the record.
    """

    def loads_key(
        self, app: AppT, message: Message, *, loads: Any = None, serializer: Any = None
    ) -> Any:
        return None

    def loads_value(
        self, app: AppT, message: Message, *, loads: Any = None, serializer: Any = None
    ) -> Any:
        if not isinstance(message.value, RecordBatch):
            raise NotABatch(
                f"{message.topic} is declared as a batch topic but the consumer delivered "
                f"{type(message.value).__name__}: is the app's broker omnibatch://?"
            )
        return message.value


def batch_of(event: EventT[Any] | RecordBatch) -> RecordBatch:
    """The batch an event carries (a batch passes through), or :class:`NotABatch`."""
    if isinstance(event, RecordBatch):
        return event
    value = event.value
    if not isinstance(value, RecordBatch):
        raise NotABatch(f"event of {event.message.tp} carries {type(value).__name__}")
    return value


def iter_batch(event: EventT[Any] | RecordBatch) -> Iterator[RawRecord]:
    """The raw records of a batch event, oldest first."""
    return iter(batch_of(event).records)


def in_flow(app: AppT, message: Any) -> bool:
    """Whether ``message`` belongs to the current generation while the flow runs.

    The one test behind three decisions: Faust's iterator delivers such a
    message (anything else it skips), its ack means it was processed, and a
    run applied from it may still write its partition's state.
    """
    return bool(app.flow_control.is_active()) and (
        message.generation_id == app.consumer_generation_id
    )
