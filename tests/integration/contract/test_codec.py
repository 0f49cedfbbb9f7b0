"""Every event type through the real broker and registry, both codec paths."""

from __future__ import annotations

import io
import json
import struct
from datetime import UTC, datetime, timedelta
from uuid import UUID

import fastavro
import pytest
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.catalogue import ALL_TOPICS, CART_EVENTS, topic_for_record
from schemas.codec import FastDecoder, FastEncoder, topic_record_strategy, without_logical_types
from schemas.exceptions import (
    BadMagicByte,
    DecodeError,
    RegistryError,
    TruncatedMessage,
    UnknownSchemaId,
)
from schemas.models import from_avro
from schemas.samples import sample
from tests.integration.support import ContractEnv, consume_all

pytestmark = pytest.mark.integration


def test_every_event_type_round_trips_through_kafka(contract_env: ContractEnv) -> None:
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    decoder = FastDecoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    sent = {}
    for seed, record in enumerate(r for t in ALL_TOPICS for r in t.records):
        topic = topic_for_record(record).physical(contract_env.prefix)
        value = sample(record, seed)
        producer.produce(topic, encoder.encode(topic, record, value), key=record)
        sent[record] = value
    assert producer.flush(30) == 0
    topics = [t.physical(contract_env.prefix) for t in ALL_TOPICS if t.records]
    messages = consume_all(contract_env.consumer(*topics), len(sent))
    received = {}
    for message in messages:
        decoded = decoder.decode(message.value())  # type: ignore[attr-defined]
        assert decoded.record == message.key().decode()  # type: ignore[attr-defined]
        received[decoded.record] = decoded.value
    assert set(received) == set(sent)
    for record, value in sent.items():
        assert from_avro(record, received[record]) == from_avro(record, value), record


def test_plain_avro_serializer_is_read_by_the_fast_path(contract_env: ContractEnv) -> None:
    record = "omni.cart.CartItemAdded"
    topic = CART_EVENTS.physical(contract_env.prefix)
    schema_str = json.dumps(contract_env.schema_set.expanded(record))
    serializer = AvroSerializer(
        contract_env.client,
        schema_str,
        conf={
            "subject.name.strategy": topic_record_strategy,
            "auto.register.schemas": False,
            "use.latest.version": True,
        },
    )
    value = sample(record, 7)
    data = serializer(value, SerializationContext(topic, MessageField.VALUE))
    decoded = FastDecoder(contract_env.client, contract_env.schema_set).decode(data)
    assert decoded.record == record
    assert from_avro(record, decoded.value) == from_avro(record, value)


def test_fast_encoder_is_read_by_plain_avro_deserializer(contract_env: ContractEnv) -> None:
    record = "omni.order.OrderPlaced"
    topic = topic_for_record(record).physical(contract_env.prefix)
    value = sample(record, 3)
    data = FastEncoder(contract_env.client, contract_env.schema_set).encode(topic, record, value)
    deserializer = AvroDeserializer(
        contract_env.client, conf={"subject.name.strategy": topic_record_strategy}
    )
    read = deserializer(data, SerializationContext(topic, MessageField.VALUE))
    assert from_avro(record, read) == from_avro(record, value)


@pytest.fixture
def good_bytes(contract_env: ContractEnv) -> bytes:
    record = "omni.cart.CartItemAdded"
    topic = CART_EVENTS.physical(contract_env.prefix)
    return FastEncoder(contract_env.client, contract_env.schema_set).encode(
        topic, record, sample(record, 1)
    )


def test_corrupt_bytes_raise_typed_errors(contract_env: ContractEnv, good_bytes: bytes) -> None:
    decoder = FastDecoder(contract_env.client, contract_env.schema_set)
    assert decoder.decode(good_bytes).record == "omni.cart.CartItemAdded"
    with pytest.raises(BadMagicByte):
        decoder.decode(b"\x01" + good_bytes[1:])
    with pytest.raises(TruncatedMessage):
        decoder.decode(good_bytes[:3])
    with pytest.raises(TruncatedMessage):
        decoder.decode(good_bytes[: len(good_bytes) // 2])
    with pytest.raises(UnknownSchemaId):
        decoder.decode(struct.pack(">bI", 0, 987_654_321) + good_bytes[5:])
    with pytest.raises(DecodeError, match="trailing bytes"):
        decoder.decode(good_bytes + b"\x00\x00")
    with pytest.raises(DecodeError):
        decoder.decode(None)


def test_unregistered_subject_is_a_clear_error(contract_env: ContractEnv) -> None:
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    with pytest.raises(RegistryError, match="omni schemas register"):
        encoder.encode(
            "nobody-registered-this", "omni.cart.CartCleared", sample("omni.cart.CartCleared")
        )


def test_an_older_writer_is_resolved_onto_our_schema(contract_env: ContractEnv) -> None:
    """A writer without a field we added since is read with that field's default.

    The decoder skips fastavro's schema resolution when the writer is our own
    schema; this checks that a different writer still goes through it.
    """
    from confluent_kafka.schema_registry import Schema

    record = "omni.cart.CartItemAdded"
    older = contract_env.schema_set.expanded(record)
    older["fields"] = [f for f in older["fields"] if f["name"] != "currency"]
    subject = f"{contract_env.prefix}older-writer-{record}"
    schema_id = contract_env.client.register_schema(subject, Schema(json.dumps(older), "AVRO"))
    value = {k: v for k, v in sample(record, 3).items() if k != "currency"}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(older), value)
    data = struct.pack(">bI", 0, schema_id) + body.getvalue()

    decoded = FastDecoder(contract_env.client, contract_env.schema_set).decode(data)
    assert decoded.value["currency"] == "EUR"
    assert decoded.value["sku"] == value["sku"]


def _as_wire(value: object) -> object:
    """A logical-type decode as the raw one should read: epoch millis and uuid text."""
    if isinstance(value, datetime):
        return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _as_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_wire(v) for v in value]
    return value


def test_without_logical_types_every_event_reads_as_its_wire_values(
    contract_env: ContractEnv,
) -> None:
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    logical = FastDecoder(contract_env.client, contract_env.schema_set)
    raw = FastDecoder(contract_env.client, contract_env.schema_set, logical_types=False)
    converted = enveloped = 0
    for seed, record in enumerate(r for t in ALL_TOPICS for r in t.records):
        topic = topic_for_record(record).physical(contract_env.prefix)
        data = encoder.encode(topic, record, sample(record, seed))
        fancy, plain = logical.decode(data).value, raw.decode(data).value
        assert plain == _as_wire(fancy), record
        converted += plain != fancy
        if "envelope" in plain:
            enveloped += 1
            assert isinstance(plain["envelope"]["occurred_at"], int), record
            assert isinstance(plain["envelope"]["event_id"], str), record
    assert converted > 10
    assert enveloped > 10


@pytest.mark.parametrize("older_writer", [False, True])
def test_both_decoders_refuse_what_the_logical_types_refuse(
    contract_env: ContractEnv, older_writer: bool
) -> None:
    """A damaged event id or an impossible time is bad input for the raw decoder too.

    Row 5a of the fault suite once sent an event whose event id had a flipped
    byte: the logical decoder refused it, the raw one read a different event.
    The raw decoder checks through its compiled reader (our own writer) and
    through fastavro (an older writer, resolved onto our schema).
    """
    from confluent_kafka.schema_registry import Schema

    record = "omni.cart.CartItemAdded"
    schema = contract_env.schema_set.expanded(record)
    if older_writer:
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "currency"]
    subject = f"{contract_env.prefix}damaged-{older_writer}-{record}"
    schema_id = contract_env.client.register_schema(subject, Schema(json.dumps(schema), "AVRO"))
    plain = fastavro.parse_schema(without_logical_types(schema))
    logical = FastDecoder(contract_env.client, contract_env.schema_set)
    raw = FastDecoder(contract_env.client, contract_env.schema_set, logical_types=False)

    def encoded(event_id: str, occurred_at: int) -> bytes:
        value = {k: v for k, v in sample(record, 5).items() if k != "currency" or not older_writer}
        value["envelope"] = {**value["envelope"], "event_id": event_id, "occurred_at": occurred_at}
        body = io.BytesIO()
        fastavro.schemaless_writer(body, plain, value)
        return struct.pack(">bI", 0, schema_id) + body.getvalue()

    good_id, now = "0b5e1d8c-3f0a-4c59-9c53-4f2f4c1f6a1e", 1_741_944_600_000
    assert raw.decode(encoded(good_id, now)).value["envelope"]["event_id"] == good_id
    for event_id, at in [
        (good_id.replace("c", "x", 1), now),  # not hex
        (good_id[:-1], now),  # one digit short
        (good_id, 253_402_300_800_000),  # the first millisecond of year 10000
    ]:
        for decoder in (logical, raw):
            with pytest.raises(DecodeError):
                decoder.decode(encoded(event_id, at))
