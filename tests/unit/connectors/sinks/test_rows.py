"""Row mapping and SQL of the PostgreSQL sink, without a database."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from psycopg.types.json import Jsonb

from connectors.sinks import pg_sql
from connectors.sinks.pg_tables import TABLES, latest_per_key, table_for
from connectors.sinks.pg_writer import fresh_records, next_offsets
from connectors.sinks.records import DELETE, UPSERT, Change, RawRecord
from schemas.catalogue import ORDER_VIEW, STOCK_LEVEL_VIEW, Topic
from schemas.samples import sample


def raw(offset: int, key: str = "k", partition: int = 0, topic: str = "t.v") -> RawRecord:
    return RawRecord(topic, partition, offset, key.encode(), b"\x00", 0)


def change(view: Topic, key: str, offset: int, value: dict[str, Any] | None) -> Change:
    op = DELETE if value is None else UPSERT
    record = None if value is None else view.records[0]
    return Change(view, key, op, record, value, raw(offset, key))


def test_every_view_has_one_table() -> None:
    assert sorted(t.table for t in TABLES) == sorted(
        ["customer_context", "carts", "stock_levels", "stock_totals", "orders"]
    )


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.table)
def test_typed_columns_are_fields_of_the_view(spec: Any) -> None:
    value = sample(spec.view.records[0], 3)
    for column in spec.columns:
        assert column.source in value, f"{spec.table}.{column.name}"


def test_stock_level_row_uses_the_kafka_key_and_typed_fields() -> None:
    value = sample("omni.view.StockLevel", 1)
    row = table_for(STOCK_LEVEL_VIEW).row(change(STOCK_LEVEL_VIEW, "SKU-1@STORE-1", 42, value))
    names = table_for(STOCK_LEVEL_VIEW).column_names
    by_name = dict(zip(names, row, strict=True))
    assert by_name["stock_key"] == "SKU-1@STORE-1"
    assert by_name["available"] == value["available"]
    assert by_name["updated_at"] == value["updated_at"]
    assert (by_name["source_topic"], by_name["source_partition"], by_name["source_offset"]) == (
        "t.v",
        0,
        42,
    )
    assert by_name["record"] == "omni.view.StockLevel"


def test_the_view_column_is_the_whole_value_as_json() -> None:
    value = sample("omni.view.OrderView", 2)
    row = table_for(ORDER_VIEW).row(change(ORDER_VIEW, value["order_id"], 1, value))
    document = next(v for v in row if isinstance(v, Jsonb))
    assert document.dumps is not None
    decoded = orjson.loads(document.dumps(document.obj))
    assert decoded["lines"][0]["sku"] == value["lines"][0]["sku"]
    assert decoded["placed_at"] == value["placed_at"].isoformat()


def test_a_tombstone_is_not_an_upsert_row() -> None:
    with pytest.raises(ValueError, match="tombstone"):
        table_for(ORDER_VIEW).row(change(ORDER_VIEW, "O-1", 5, None))
    args = table_for(ORDER_VIEW).delete_args(change(ORDER_VIEW, "O-1", 5, None))
    assert args == ("O-1", "t.v", 0, 5)


def test_latest_per_key_keeps_the_last_change_of_each_key() -> None:
    changes = [
        change(ORDER_VIEW, "a", 1, {"v": 1}),
        change(ORDER_VIEW, "b", 2, {"v": 2}),
        change(ORDER_VIEW, "a", 3, None),
        change(STOCK_LEVEL_VIEW, "a", 4, {"v": 4}),
    ]
    latest, superseded = latest_per_key(changes)
    assert superseded == 1
    assert [(c.view.name, c.key, c.source.offset) for c in latest] == [
        (ORDER_VIEW.name, "a", 3),
        (ORDER_VIEW.name, "b", 2),
        (STOCK_LEVEL_VIEW.name, "a", 4),
    ]


def test_records_below_the_watermark_are_not_fresh() -> None:
    batch = [raw(4), raw(5), raw(6), raw(0, partition=1)]
    fresh = fresh_records(batch, {("t.v", 0): 6})
    assert [(r.partition, r.offset) for r in fresh] == [(0, 6), (1, 0)]


def test_next_offsets_are_one_past_each_partitions_last_record() -> None:
    batch = [raw(4), raw(9, partition=1), raw(5)]
    assert next_offsets(batch) == {("t.v", 0): 6, ("t.v", 1): 10}


def test_upsert_is_guarded_by_the_source_offset() -> None:
    text = pg_sql.upsert("omni", table_for(ORDER_VIEW)).as_string(None)
    assert 'INSERT INTO "omni"."orders" AS t' in text
    assert 'ON CONFLICT ("order_id") DO UPDATE' in text
    assert "t.source_offset < EXCLUDED.source_offset" in text
    assert text.count("%s") == len(table_for(ORDER_VIEW).column_names)


def test_delete_is_guarded_too_and_identifiers_are_quoted() -> None:
    text = pg_sql.delete('we"ird', table_for(ORDER_VIEW)).as_string(None)
    assert '"we""ird"."orders"' in text
    assert "source_offset < %s" in text
