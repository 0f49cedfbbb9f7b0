"""The generated edge models: 1:1 with the schemas, lossless through Avro, strict at the edge."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from pydantic import ValidationError

from schemas.avro import SchemaSet, load_schema_set
from schemas.exceptions import SchemaError
from schemas.models import ModelFactory, all_models, from_avro, model_for, to_avro
from schemas.samples import sample

RECORDS = load_schema_set().records()


def _avro_trip(schema_set: SchemaSet, name: str, record: dict[str, Any]) -> dict[str, Any]:
    buf = io.BytesIO()
    schemaless_writer(buf, schema_set.parsed(name), record)
    size = buf.tell()
    buf.seek(0)
    decoded = schemaless_reader(buf, schema_set.parsed(name), None)
    assert isinstance(decoded, dict)
    assert buf.tell() == size, "the reader consumed exactly what the writer wrote"
    return decoded


def _cart_item_added(**changes: Any) -> dict[str, Any]:
    record = sample("omni.cart.CartItemAdded", seed=4)
    record.update(changes)
    return record


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[tuple[str | int, ...], str]:
    return {tuple(e["loc"]): e["type"] for e in exc.value.errors()}


@pytest.mark.parametrize("minimal", [False, True], ids=["full", "minimal"])
@pytest.mark.parametrize("name", RECORDS)
def test_every_model_round_trips_through_avro(
    schema_set: SchemaSet, name: str, minimal: bool
) -> None:
    original = model_for(name).model_validate(sample(name, seed=1, minimal=minimal))
    decoded = _avro_trip(schema_set, name, to_avro(original))
    assert from_avro(name, decoded) == original


@pytest.mark.parametrize("name", RECORDS)
def test_a_model_carries_exactly_the_schema_fields(schema_set: SchemaSet, name: str) -> None:
    fields = schema_set.raw(name)["fields"]
    model = model_for(name)
    assert list(model.model_fields) == [f["name"] for f in fields]
    required = {n for n, info in model.model_fields.items() if info.is_required()}
    assert required == {f["name"] for f in fields if "default" not in f}
    assert model.avro_name == name
    record = sample(name, seed=2)
    assert to_avro(model.model_validate(record)) == record, "nothing added, dropped or changed"


def test_all_models_covers_every_record() -> None:
    models = all_models()
    assert sorted(models) == RECORDS
    assert models["omni.cart.CartItemAdded"] is model_for("omni.cart.CartItemAdded")


def test_model_for_refuses_what_is_not_a_record() -> None:
    with pytest.raises(
        SchemaError, match=r"omni\.common\.Channel is not a record but an Avro enum"
    ):
        model_for("omni.common.Channel")
    with pytest.raises(SchemaError, match=r"unknown Avro type 'omni\.cart\.Nope'"):
        model_for("omni.cart.Nope")


def test_a_wrong_type_names_the_field() -> None:
    model = model_for("omni.cart.CartItemAdded")
    with pytest.raises(ValidationError) as exc:
        model.model_validate(_cart_item_added(quantity="two"))
    assert _errors(exc) == {("quantity",): "int_type"}
    assert "quantity" in str(exc.value)


def test_a_wrong_nested_value_names_the_path() -> None:
    record = _cart_item_added()
    record["envelope"] = {**record["envelope"], "channel": "fax"}
    with pytest.raises(ValidationError) as exc:
        model_for("omni.cart.CartItemAdded").model_validate(record)
    assert _errors(exc) == {("envelope", "channel"): "literal_error"}


def test_a_missing_field_names_the_field() -> None:
    record = _cart_item_added()
    del record["sku"]
    with pytest.raises(ValidationError) as exc:
        model_for("omni.cart.CartItemAdded").model_validate(record)
    assert _errors(exc) == {("sku",): "missing"}


def test_a_misspelt_field_is_an_error() -> None:
    with pytest.raises(ValidationError) as exc:
        model_for("omni.cart.CartItemAdded").model_validate(_cart_item_added(skuu="SKU-1"))
    assert _errors(exc) == {("skuu",): "extra_forbidden"}


@pytest.mark.parametrize(
    ("value", "error"),
    [("5", "int_type"), (True, "int_type"), (2.0, "int_type"), (2**31, "less_than_equal")],
)
def test_ints_are_strict_and_32_bit(value: Any, error: str) -> None:
    with pytest.raises(ValidationError) as exc:
        model_for("omni.cart.CartItemAdded").model_validate(_cart_item_added(quantity=value))
    assert _errors(exc) == {("quantity",): error}


def test_longs_take_64_bit_values() -> None:
    big = _cart_item_added(unit_price_minor=2**40)
    assert model_for("omni.cart.CartItemAdded").model_validate(big).unit_price_minor == 2**40  # type: ignore[attr-defined]


def _occurred_at(value: Any) -> datetime:
    record = _cart_item_added()
    record["envelope"] = {**record["envelope"], "occurred_at": value}
    model = model_for("omni.cart.CartItemAdded").model_validate(record)
    occurred: datetime = to_avro(model)["envelope"]["occurred_at"]
    return occurred


def test_timestamps_accept_datetimes_iso_text_and_epoch_millis() -> None:
    expected = datetime(2025, 3, 14, 9, 30, 0, 123000, tzinfo=UTC)
    assert _occurred_at(expected) == expected
    assert _occurred_at("2025-03-14T10:30:00.123+01:00") == expected
    assert _occurred_at(int(expected.timestamp() * 1000)) == expected
    cet = _occurred_at(expected.astimezone(timezone(timedelta(hours=1))))
    assert cet.tzinfo == UTC


def test_timestamps_keep_what_avro_keeps() -> None:
    at = _occurred_at(datetime(2025, 3, 14, 9, 30, 0, 123456, tzinfo=UTC))
    assert at.microsecond == 123000


def test_naive_timestamps_are_rejected() -> None:
    record = _cart_item_added()
    record["envelope"] = {**record["envelope"], "occurred_at": "2025-03-14T09:30:00"}
    with pytest.raises(ValidationError) as exc:
        model_for("omni.cart.CartItemAdded").model_validate(record)
    assert _errors(exc) == {("envelope", "occurred_at"): "timezone_aware"}


def test_uuids_are_validated_and_canonical() -> None:
    record = _cart_item_added()
    event_id = uuid.uuid4()
    record["envelope"] = {**record["envelope"], "event_id": event_id}
    model = model_for("omni.cart.CartItemAdded").model_validate(record)
    assert to_avro(model)["envelope"]["event_id"] == str(event_id)
    record["envelope"] = {**record["envelope"], "event_id": "not-a-uuid"}
    with pytest.raises(ValidationError) as exc:
        model_for("omni.cart.CartItemAdded").model_validate(record)
    assert _errors(exc) == {("envelope", "event_id"): "value_error"}


def test_defaults_come_from_the_schema_and_are_not_shared() -> None:
    view = model_for("omni.view.CartView")
    first, second = view(), view()
    assert to_avro(first)["status"] == "active"
    assert to_avro(first)["updated_at"] == datetime(1970, 1, 1, tzinfo=UTC)
    to_avro(first)["items"].append({})
    first.items.append(None)  # type: ignore[attr-defined]
    assert second.items == []  # type: ignore[attr-defined]
    context = to_avro(model_for("omni.view.CustomerContext")())
    assert context["identifiers"]["loyalty_ids"] == []
    assert context["journey_stage"] == "awareness"


def test_field_names_that_clash_with_pydantic_keep_their_avro_name(tmp_path: Path) -> None:
    fields = [
        {"name": "json", "type": "string", "doc": "d"},
        {"name": "model_id", "type": "int", "default": 1, "doc": "d"},
    ]
    schema = {"type": "record", "name": "Odd", "namespace": "omni.x", "doc": "d", "fields": fields}
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "Odd.avsc").write_text(json.dumps(schema))
    model = ModelFactory(SchemaSet.load(tmp_path)).model_for("omni.x.Odd")
    assert list(model.model_fields) == ["json_", "model_id_"]
    assert to_avro(model.model_validate({"json": "{}"})) == {"json": "{}", "model_id": 1}
