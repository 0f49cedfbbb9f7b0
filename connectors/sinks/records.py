"""A consumed view record, and the change it stands for.

View topics are compacted: the key (utf-8) is the entity id, the value is
the entity's latest state in Confluent wire format, and a null value (a
tombstone) says the entity is gone. Both sinks turn records into
:class:`Change` objects the same way; a record that cannot be turned into
one is a poison record for the dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.sinks.exceptions import MissingKey
from schemas.catalogue import Topic
from schemas.exceptions import DecodeError

if TYPE_CHECKING:
    from confluent_kafka import Message

    from schemas.codec import FastDecoder

UPSERT = "upsert"
DELETE = "delete"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """What the sinks need of a consumed message, detached from librdkafka."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int

    @classmethod
    def of(cls, message: Message) -> RawRecord:
        _, timestamp = message.timestamp()
        return cls(
            topic=str(message.topic()),
            partition=int(message.partition() or 0),
            offset=int(message.offset() or 0),
            key=message.key(),
            value=message.value(),
            timestamp_ms=int(timestamp),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One view change: an upsert of ``value`` under ``key``, or its deletion."""

    view: Topic
    key: str
    op: str
    record: str | None
    value: dict[str, Any] | None
    source: RawRecord

    @property
    def deleted(self) -> bool:
        return self.op == DELETE


def to_change(raw: RawRecord, view: Topic, decoder: FastDecoder) -> Change:
    """Decode ``raw``; a ``DecodeError`` (or ``MissingKey``) marks it poison."""
    if raw.key is None:
        raise MissingKey(f"view record at {raw.topic}/{raw.partition}/{raw.offset} has no key")
    try:
        key = raw.key.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"view key is not utf-8: {raw.key[:40]!r}") from exc
    if raw.value is None:
        return Change(view, key, DELETE, None, None, raw)
    decoded = decoder.decode(raw.value)
    if decoded.record not in view.records:
        raise DecodeError(f"{decoded.record} does not belong on {view.name}")
    return Change(view, key, UPSERT, decoded.record, decoded.value, raw)


def change_document(change: Change) -> dict[str, Any]:
    """The JSON document of a change, as the webhook POSTs it."""
    source = change.source
    return {
        "view": change.view.name,
        "key": change.key,
        "op": change.op,
        "record": change.record,
        "value": change.value,
        "source": {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "timestamp_ms": source.timestamp_ms,
        },
    }
