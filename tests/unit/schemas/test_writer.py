"""Compiled Avro writers: fastavro's bytes for every record of the contract, else its outcome.

Each record type is sampled (several seeds, full and minimal), written by
fastavro, and read back as the wire holds it (epoch millis, uuids as text):
the form the processors hand the encoder. The compiled writer must give the
same bytes for it; values it does not take as they are (``datetime``,
``UUID``, a wrong type) must raise :class:`NotCompiled`, so that the encoder
hands them to fastavro.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest

from schemas.avro import SchemaSet, load_schema_set
from schemas.codec import without_logical_types
from schemas.samples import sample
from schemas.writer import NotCompiled, compile_writer

SCHEMAS: SchemaSet = load_schema_set()
RECORDS = SCHEMAS.records()
SEEDS = range(6)


def fastavro_bytes(record: str, value: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, SCHEMAS.parsed(record), value)
    return buffer.getvalue()


def as_on_the_wire(record: str, data: bytes) -> dict[str, Any]:
    reader = fastavro.parse_schema(without_logical_types(SCHEMAS.expanded(record)))
    value: dict[str, Any] = fastavro.schemaless_reader(io.BytesIO(data), reader, None)
    return value


def writer(record: str) -> Any:
    compiled = compile_writer(SCHEMAS.expanded(record))
    assert compiled is not None, f"{record} uses a type the compiler does not cover"
    return compiled


def test_every_record_of_the_contract_compiles() -> None:
    assert len(RECORDS) > 40
    assert [r for r in RECORDS if compile_writer(SCHEMAS.expanded(r)) is None] == []


@pytest.mark.parametrize("record", RECORDS)
def test_wire_values_give_fastavros_bytes(record: str) -> None:
    write = writer(record)
    for seed in SEEDS:
        for minimal in (False, True):
            expected = fastavro_bytes(record, sample(record, seed, minimal=minimal))
            assert write(as_on_the_wire(record, expected)) == expected, (seed, minimal)


def test_logical_values_are_left_to_fastavro() -> None:
    record = "omni.customer.ProductViewed"
    value = sample(record, 1)  # an aware datetime and a UUID in the envelope
    with pytest.raises(NotCompiled):
        writer(record)(value)
    wire = as_on_the_wire(record, fastavro_bytes(record, value))
    assert writer(record)(wire) == fastavro_bytes(record, value)


CONTEXT = "omni.view.CustomerContext"


def context(**changes: Any) -> dict[str, Any]:
    wire = as_on_the_wire(CONTEXT, fastavro_bytes(CONTEXT, sample(CONTEXT, 3)))
    return {**wire, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"order_count": True},  # fastavro's union and int checks refuse bools
        {"order_count": 1 << 40},  # beyond an Avro int
        {"lifetime_value_minor": 1 << 64},  # beyond an Avro long
        {"journey_stage": "no-such-stage"},
        {"currency": b"EUR"},
        {"recent_interactions": None},
        {"traits": ["a"]},
    ],
)
def test_a_value_the_writer_does_not_take_goes_to_fastavro(changes: dict[str, Any]) -> None:
    with pytest.raises(NotCompiled):
        writer(CONTEXT)(context(**changes))


def test_a_missing_field_takes_its_default_as_fastavro_does() -> None:
    value = context()
    del value["merged_into"], value["currency"]  # both have defaults
    assert writer(CONTEXT)(value) == fastavro_bytes(CONTEXT, value)


def test_a_missing_field_without_default_is_left_to_fastavro() -> None:
    record = "omni.cart.CartItemAdded"
    value = as_on_the_wire(record, fastavro_bytes(record, sample(record, 2)))
    del value["quantity"]
    with pytest.raises(NotCompiled):
        writer(record)(value)
    with pytest.raises(ValueError, match="quantity"):
        fastavro_bytes(record, value)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 8191, 8192, 70_000])
def test_lengths_and_counts_across_varint_sizes(size: int) -> None:
    value = context(customer_id="c" * size, traits={f"k{n}": "v" for n in range(size % 300)})
    assert writer(CONTEXT)(value) == fastavro_bytes(CONTEXT, value)


@pytest.mark.parametrize("number", [0, -1, 1, -64, 63, 64, -(1 << 31), (1 << 31) - 1])
def test_ints_and_longs_across_varint_sizes(number: int) -> None:
    value = context(order_count=number, lifetime_value_minor=number * (1 << 32), version=number)
    assert writer(CONTEXT)(value) == fastavro_bytes(CONTEXT, value)


def test_a_schema_beyond_the_contract_is_not_compiled() -> None:
    floats = {"type": "record", "name": "F", "fields": [{"name": "x", "type": "double"}]}
    unions = {"type": "record", "name": "U", "fields": [{"name": "x", "type": ["int", "string"]}]}
    assert compile_writer(floats) is None
    assert compile_writer(unions) is None
