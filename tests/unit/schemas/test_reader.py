"""Compiled Avro readers: fastavro's values for every record of the contract, else its outcome.

Each record type is sampled (several seeds, full and minimal) and written by
fastavro; the compiled reader must return what fastavro reads from those
bytes without logical types (epoch millis, uuids as text), the form the
processors decode. A body it cannot read to its exact end must raise
:class:`NotCompiled`, so that the decoder reads it again with fastavro.
"""

from __future__ import annotations

import io
import random
import uuid
from typing import Any

import fastavro
import pytest

from schemas.avro import SchemaSet, load_schema_set
from schemas.codec import without_logical_types
from schemas.reader import MAX_MILLIS, MIN_MILLIS, NotCompiled, compile_reader
from schemas.samples import sample

SCHEMAS: SchemaSet = load_schema_set()
RECORDS = SCHEMAS.records()
SEEDS = range(6)
HEADER = b"\x00\x00\x00\x00\x07"


def plain(record: str) -> Any:
    return without_logical_types(SCHEMAS.expanded(record))


def body(record: str, value: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, SCHEMAS.parsed(record), value)
    return buffer.getvalue()


def fastavro_value(record: str, data: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(data), fastavro.parse_schema(plain(record)), None)


def reader(record: str) -> Any:
    compiled = compile_reader(SCHEMAS.expanded(record))
    assert compiled is not None, f"{record} uses a type the compiler does not cover"
    return compiled


def test_every_record_of_the_contract_compiles() -> None:
    assert len(RECORDS) > 40
    assert [r for r in RECORDS if compile_reader(SCHEMAS.expanded(r)) is None] == []


@pytest.mark.parametrize("record", RECORDS)
def test_the_compiled_reader_returns_fastavros_value(record: str) -> None:
    read = reader(record)
    for seed in SEEDS:
        for minimal in (False, True):
            data = body(record, sample(record, seed, minimal=minimal))
            expected = fastavro_value(record, data)
            got = read(HEADER + data, len(HEADER))
            assert got == expected, (seed, minimal)
            assert list(got) == list(expected)  # the fields in the schema's order too


CONTEXT = "omni.view.CustomerContext"


def context_body() -> bytes:
    return body(CONTEXT, sample(CONTEXT, 3))


@pytest.mark.parametrize("cut", [1, 2, 5, 20])
def test_a_truncated_body_is_left_to_fastavro(cut: int) -> None:
    data = context_body()[:-cut]
    with pytest.raises(NotCompiled):
        reader(CONTEXT)(HEADER + data, len(HEADER))
    with pytest.raises((EOFError, StopIteration, ValueError, IndexError)):
        fastavro_value(CONTEXT, data)


def test_trailing_bytes_are_left_to_fastavro() -> None:
    with pytest.raises(NotCompiled, match="trailing"):
        reader(CONTEXT)(HEADER + context_body() + b"\x00", len(HEADER))


def compiled(fields: list[dict[str, Any]]) -> Any:
    read = compile_reader({"type": "record", "name": "T", "fields": fields})
    assert read is not None
    return read


def test_an_invalid_union_index_is_left_to_fastavro() -> None:
    read = compiled([{"name": "x", "type": ["null", "long"]}])
    assert read(b"\x02\x04", 0) == {"x": 2}
    assert read(b"\x00", 0) == {"x": None}
    with pytest.raises(NotCompiled):
        read(b"\x04\x02", 0)  # index 2 of a two-branch union


def test_an_invalid_enum_index_is_left_to_fastavro() -> None:
    colour = {"type": "enum", "name": "Colour", "symbols": ["red", "green"]}
    read = compiled([{"name": "e", "type": colour}])
    assert read(b"\x02", 0) == {"e": "green"}
    with pytest.raises(NotCompiled):
        read(b"\x04", 0)  # index 2
    with pytest.raises(NotCompiled):
        read(b"\x01", 0)  # index -1


def test_bad_utf8_is_left_to_fastavro() -> None:
    read = compiled([{"name": "s", "type": "string"}])
    assert read(b"\x04ok", 0) == {"s": "ok"}
    with pytest.raises(NotCompiled):
        read(b"\x04\xff\xfe", 0)


@pytest.mark.parametrize("number", [0, -1, 1, -64, 63, 64, 1 << 40, -(1 << 63), (1 << 63) - 1])
def test_longs_across_varint_sizes(number: int) -> None:
    schema = {"type": "record", "name": "L", "fields": [{"name": "n", "type": "long"}]}
    compiled = compile_reader(schema)
    assert compiled is not None
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), {"n": number})
    assert compiled(buffer.getvalue(), 0) == {"n": number}


def test_arrays_and_maps_in_blocks_with_sizes() -> None:
    # Writers may split a sequence into blocks, with negative counts and byte sizes.
    schema = {
        "type": "record",
        "name": "B",
        "fields": [
            {"name": "a", "type": {"type": "array", "items": "long"}},
            {"name": "m", "type": {"type": "map", "values": "string"}},
        ],
    }
    compiled = compile_reader(schema)
    assert compiled is not None
    data = b"\x04\x02\x04" + b"\x01\x02\x06" + b"\x00" + b"\x02\x02k\x02v" + b"\x00"
    expected = fastavro.schemaless_reader(io.BytesIO(data), fastavro.parse_schema(schema), None)
    assert compiled(data, 0) == expected == {"a": [1, 2, 3], "m": {"k": "v"}}


def test_a_schema_beyond_the_contract_is_not_compiled() -> None:
    floats = {"type": "record", "name": "F", "fields": [{"name": "x", "type": "double"}]}
    dates = {
        "type": "record",
        "name": "T",
        "fields": [{"name": "t", "type": {"type": "int", "logicalType": "date"}}],
    }
    assert compile_reader(floats) is None
    assert compile_reader(dates) is None


STAMP = {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}


@pytest.mark.parametrize("millis", [MIN_MILLIS - 1, MIN_MILLIS, 0, MAX_MILLIS, MAX_MILLIS + 1])
def test_timestamps_are_refused_where_fastavros_logical_type_refuses_them(millis: int) -> None:
    schema = {"type": "record", "name": "T", "fields": [STAMP]}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(
        buffer, fastavro.parse_schema(without_logical_types(schema)), {"t": millis}
    )
    try:
        fastavro.schemaless_reader(
            io.BytesIO(buffer.getvalue()), fastavro.parse_schema(schema), None
        )
    except (OverflowError, ValueError):
        with pytest.raises(NotCompiled):
            compiled([STAMP])(buffer.getvalue(), 0)
    else:
        assert compiled([STAMP])(buffer.getvalue(), 0) == {"t": millis}


def test_uuid_text_is_taken_exactly_when_uuid_takes_it() -> None:
    rng = random.Random(7)
    good = str(uuid.UUID(int=rng.getrandbits(128)))
    variants = [good, good.upper(), good.replace("-", ""), "{" + good + "}", "urn:uuid:" + good]
    for _ in range(3000):
        text = list(good)
        position = rng.randrange(len(text))
        text[position] = chr(rng.choice([rng.randrange(32, 127), rng.randrange(128, 0x3000)]))
        variants.append("".join(text))
        variants.append(good[: rng.randrange(len(good))])
    field = {"name": "u", "type": {"type": "string", "logicalType": "uuid"}}
    read = compiled([field])
    taken = 0
    for text in variants:
        data = text.encode()
        body = bytes([len(data) << 1]) + data if len(data) < 64 else None
        try:
            uuid.UUID(text)
        except ValueError:
            if body is not None:
                with pytest.raises(NotCompiled):
                    read(body, 0)
        else:
            taken += 1
            if body is not None:
                assert read(body, 0) == {"u": text}
    assert 5 <= taken < len(variants) // 2
