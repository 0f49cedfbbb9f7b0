"""Avro in the Confluent wire format: ``0x00``, a 4-byte schema id, the Avro body.

Two paths share one format:

* ``RegistrySerde`` goes through confluent-kafka's ``AvroSerializer`` and
  ``AvroDeserializer``: what a channel team would write, used at the edges.
* ``FastEncoder`` / ``FastDecoder`` are for hot loops. Schema ids and parsed
  schemas are cached, so after the first record of a type there is no HTTP call
  and no pydantic, just the body: written and read by code compiled from the
  schema (:mod:`schemas.writer`, :mod:`schemas.reader`), with fastavro for
  what that code leaves to it.

Both read each other's bytes; an integration test proves it.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.avro import SchemaSet
from schemas.catalogue import subject_for
from schemas.exceptions import (
    BadMagicByte,
    DecodeError,
    RegistryError,
    TruncatedMessage,
    UnknownSchemaId,
)
from schemas.reader import NotCompiled as ReaderNotCompiled
from schemas.reader import Reader, compile_reader
from schemas.writer import NotCompiled, Writer, compile_writer

MAGIC_BYTE = 0
HEADER = struct.Struct(">bI")
HEADER_SIZE = HEADER.size


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded event: which schema wrote it, which record it is, and its fields."""

    schema_id: int
    record: str
    value: dict[str, Any]


def split_header(data: bytes | None) -> tuple[int, memoryview]:
    """The schema id and the Avro body, or a typed error for foreign bytes."""
    if data is None:
        raise DecodeError("value is null (a tombstone), not an event")
    if len(data) < HEADER_SIZE:
        raise TruncatedMessage(f"{len(data)} bytes is shorter than the 5-byte wire header")
    magic, schema_id = HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise BadMagicByte(f"magic byte is {magic & 0xFF:#04x}, expected 0x00")
    return schema_id, memoryview(data)[HEADER_SIZE:]


def topic_record_strategy(ctx: SerializationContext | None, record_name: str | None) -> str | None:
    """TopicRecordNameStrategy, the subject naming our catalogue relies on.

    ``None`` until the record name is known: a deserializer asks once before it
    has read the writer schema. Passing this strategy also keeps
    confluent-kafka from looking subjects up through Confluent's associations
    API, which other registries do not serve.
    """
    if ctx is None or record_name is None:
        return None
    return subject_for(ctx.topic, record_name)


def _registry_call(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except SchemaRegistryError as exc:
        raise RegistryError(f"{what}: {exc.error_message} (HTTP {exc.http_status_code})") from exc
    except Exception as exc:  # transport errors from httpx and friends
        raise RegistryError(f"{what}: {exc}") from exc


RAW_LOGICAL_TYPES = frozenset({"timestamp-millis", "uuid"})


def without_logical_types(schema: Any) -> Any:
    """Schema JSON with the timestamp-millis and uuid annotations taken off.

    fastavro then reads those fields as the long and the string the wire
    holds, instead of building an aware ``datetime`` and a ``UUID``.
    """
    if isinstance(schema, list):
        return [without_logical_types(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        k: without_logical_types(v)
        for k, v in schema.items()
        if not (k == "logicalType" and v in RAW_LOGICAL_TYPES)
    }


@dataclass(frozen=True, slots=True)
class _Schemas:
    """How one writer schema id is read: fastavro's schemas, the compiled reader, the checks."""

    record: str
    writer: Any
    reader: Any
    compiled: Reader | None = None
    checks: tuple[Any, Any] | None = None  # logical writer and reader: what raw values must pass


class FastDecoder:
    """Decodes wire-format bytes with writer schemas cached by id.

    Records are resolved onto our current schema of the same name when we know
    it, so a consumer sees today's fields (with defaults) even for old writers.

    With ``logical_types=False`` timestamps come as epoch milliseconds and
    uuids as text: what the processors' rules keep anyway
    (:mod:`streams.common.events`). Building and taking apart the
    ``datetime`` and ``UUID`` was a fifth of an event's decode (12.5 against
    9.8 µs for a 368-byte interaction, envelope read included). The values
    are still checked as the logical types would check them: an event id
    that is not a uuid, or a timestamp beyond year 9999, is undecodable for
    both kinds of decoder (a flipped byte in an event id once made a
    different event instead of a dead letter). The compiled reader checks
    inline; fastavro's raw read is preceded by a logical one.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        schema_set: SchemaSet | None = None,
        *,
        logical_types: bool = True,
    ) -> None:
        self._client = client
        self._schema_set = schema_set
        self._logical_types = logical_types
        self._by_id: dict[int, _Schemas] = {}

    def decode(self, data: bytes | None) -> Decoded:
        schema_id, body = split_header(data)
        schemas = self._schemas(schema_id)
        if schemas.compiled is not None and data is not None:
            try:
                return Decoded(schema_id, schemas.record, schemas.compiled(data, HEADER_SIZE))
            except ReaderNotCompiled:
                pass  # fastavro reads it again and says what is wrong (schemas.reader)
        if schemas.checks is not None:
            # Raw values, but only of a body the logical types take (see the class docstring).
            self._read(schemas.record, body, *schemas.checks)
        value = self._read(schemas.record, body, schemas.writer, schemas.reader)
        if not isinstance(value, dict):
            raise DecodeError(f"schema {schema_id} is not a record schema")
        return Decoded(schema_id, schemas.record, value)

    @staticmethod
    def _read(record: str, body: memoryview, writer: Any, reader: Any) -> Any:
        buffer = io.BytesIO(body)
        try:
            value = fastavro.schemaless_reader(buffer, writer, reader)
        except (EOFError, StopIteration) as exc:
            raise TruncatedMessage(f"Avro body of {record} ends early") from exc
        except Exception as exc:  # fastavro raises bare ValueError/IndexError on garbage
            raise DecodeError(f"Avro body is not a valid {record}: {exc}") from exc
        if buffer.tell() != len(body):
            raise DecodeError(f"{len(body) - buffer.tell()} trailing bytes after a {record}")
        return value

    def _schemas(self, schema_id: int) -> _Schemas:
        cached = self._by_id.get(schema_id)
        if cached is None:
            cached = self._load(schema_id)
            self._by_id[schema_id] = cached
        return cached

    def _load(self, schema_id: int) -> _Schemas:
        try:
            schema = self._client.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise UnknownSchemaId(f"schema id {schema_id} is not in the registry") from exc
            raise RegistryError(f"fetching schema {schema_id}: {exc.error_message}") from exc
        except Exception as exc:
            raise RegistryError(f"fetching schema {schema_id}: {exc}") from exc
        if not schema.schema_str:
            raise UnknownSchemaId(f"schema id {schema_id} has no schema text")
        written = json.loads(schema.schema_str)
        writer = fastavro.parse_schema(self._plain(written))
        record = _full_name(writer)
        ours = self._schema_set is not None and record in self._schema_set.records()
        reader = self._reader(record) if ours else None
        # fastavro compares the two schemas, deeply, on every call (17 µs of a
        # 34 µs decode here) to skip resolution when they are equal: compare once.
        if reader == writer:
            reader = None
        if self._logical_types:
            return _Schemas(record, writer, reader)
        logical_writer = fastavro.parse_schema(written)
        logical_reader = self._reader(record, logical=True) if ours else None
        checks = (logical_writer, None if logical_reader == logical_writer else logical_reader)
        # The compiled reader reads the wire as it is, with the writer's schema only.
        compiled = compile_reader(written) if reader is None else None
        return _Schemas(record, writer, reader, compiled, checks)

    def _plain(self, schema: Any) -> Any:
        return schema if self._logical_types else without_logical_types(schema)

    def _reader(self, record: str, *, logical: bool = False) -> Any:
        """Our schema of ``record``, parsed as this decoder reads (or with logical types)."""
        assert self._schema_set is not None
        if self._logical_types or logical:
            return self._schema_set.parsed(record)
        return fastavro.parse_schema(without_logical_types(self._schema_set.expanded(record)))


def _full_name(parsed: Any) -> str:
    if isinstance(parsed, dict) and "name" in parsed:
        return str(parsed["name"])
    raise DecodeError("writer schema is not a named record")


class FastEncoder:
    """Encodes records of our contract with cached schema ids.

    Ids are looked up (or registered, when ``auto_register``) once per subject,
    which is how a long-running producer stays off the registry's hot path.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        schema_set: SchemaSet,
        auto_register: bool = False,
    ) -> None:
        self._client = client
        self._schema_set = schema_set
        self._auto_register = auto_register
        self._ids: dict[tuple[str, str], tuple[bytes, Any, Writer | None]] = {}

    def encode(self, topic: str, record: str, value: dict[str, Any]) -> bytes:
        header, parsed, writer = self._header(topic, record)
        if writer is not None:
            try:
                body: bytes = writer(value)
                return header + body
            except NotCompiled:
                pass  # a value the compiled writer leaves to fastavro (schemas.writer)
        buffer = io.BytesIO()
        buffer.write(header)
        fastavro.schemaless_writer(buffer, parsed, value)
        return buffer.getvalue()

    def schema_id(self, topic: str, record: str) -> int:
        header, _, _ = self._header(topic, record)
        return int(HEADER.unpack(header)[1])

    def _header(self, topic: str, record: str) -> tuple[bytes, Any, Writer | None]:
        """The wire header, fastavro's schema and the compiled writer; one lookup per encode."""
        key = (topic, record)
        cached = self._ids.get(key)
        if cached is None:
            schema_id = self._resolve_id(topic, record)
            cached = (
                HEADER.pack(MAGIC_BYTE, schema_id),
                self._schema_set.parsed(record),
                compile_writer(self._schema_set.expanded(record)),
            )
            self._ids[key] = cached
        return cached

    def _resolve_id(self, topic: str, record: str) -> int:
        subject = subject_for(topic, record)
        schema = Schema(json.dumps(self._schema_set.expanded(record)), "AVRO")
        if self._auto_register:
            return int(
                _registry_call(subject, lambda: self._client.register_schema(subject, schema))
            )
        registered = _registry_call(
            f"{subject} is not registered (run `omni schemas register`)",
            lambda: self._client.lookup_schema(subject, schema),
        )
        return int(registered.schema_id)


class RegistrySerde:
    """confluent-kafka's own Avro serializer and deserializer, with our subject naming."""

    def __init__(self, client: SchemaRegistryClient, schema_set: SchemaSet) -> None:
        self._client = client
        self._schema_set = schema_set
        self._serializers: dict[str, AvroSerializer] = {}
        self._deserializer = AvroDeserializer(
            client, conf={"subject.name.strategy": topic_record_strategy}
        )

    def serialize(self, topic: str, record: str, value: dict[str, Any]) -> bytes:
        serializer = self._serializers.get(record)
        if serializer is None:
            schema_str = json.dumps(self._schema_set.expanded(record))
            conf = {"subject.name.strategy": topic_record_strategy, "auto.register.schemas": True}
            serializer = AvroSerializer(self._client, schema_str, conf=conf)
            self._serializers[record] = serializer
        ctx = SerializationContext(topic, MessageField.VALUE)
        data = _registry_call(f"serializing {record}", lambda: serializer(value, ctx))
        return bytes(data)

    def deserialize(self, topic: str, data: bytes) -> dict[str, Any]:
        split_header(data)
        ctx = SerializationContext(topic, MessageField.VALUE)
        value = _registry_call("deserializing", lambda: self._deserializer(data, ctx))
        return dict(value)
