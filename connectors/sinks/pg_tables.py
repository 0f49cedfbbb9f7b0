"""How each view becomes a table: one row per key, the columns worth querying, the view as JSONB.

Pure data and functions (no connection): which column comes from which
field, and the row tuple for a change. The row's key is the Kafka key, never
re-derived from the value, so a tombstone (which has only the key) finds
the row it deletes. Every row also records the Kafka topic, partition and
offset it came from, which is what guards against an older record
overwriting a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from psycopg.types.json import Jsonb

from connectors.sinks.records import Change
from schemas.catalogue import (
    CART_VIEW,
    CUSTOMER_CONTEXT_VIEW,
    ORDER_VIEW,
    STOCK_LEVEL_VIEW,
    STOCK_TOTAL_VIEW,
    Topic,
)

SOURCE_COLUMNS = ("view", "record", "source_topic", "source_partition", "source_offset")


@dataclass(frozen=True)
class Column:
    """A typed column filled from a top-level field of the view (None when absent)."""

    name: str
    sql_type: str
    field: str | None = None

    @property
    def source(self) -> str:
        return self.field or self.name


@dataclass(frozen=True)
class TableSpec:
    view: Topic
    table: str
    key_column: str
    columns: tuple[Column, ...]
    indexes: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column an upsert writes, in row order."""
        return (self.key_column, *(c.name for c in self.columns), *SOURCE_COLUMNS)

    def row(self, change: Change) -> tuple[Any, ...]:
        """The upsert row of a change (not of a tombstone: that is a delete)."""
        if change.value is None:
            raise ValueError(f"{change.key!r} is a tombstone: delete it, do not upsert it")
        value = change.value
        raw = change.source
        return (
            change.key,
            *(value.get(column.source) for column in self.columns),
            Jsonb(value, dumps=_dumps),
            change.record,
            raw.topic,
            raw.partition,
            raw.offset,
        )

    def delete_args(self, change: Change) -> tuple[Any, ...]:
        raw = change.source
        return (change.key, raw.topic, raw.partition, raw.offset)


def _dumps(value: Any) -> str:
    """orjson: timestamps (datetimes) as RFC 3339, fast on the large context documents."""
    return orjson.dumps(value).decode()


def _cols(*spec: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(name, sql_type) for name, sql_type in spec)


TEXT, INT, BIGINT, BOOL, TS = "text", "integer", "bigint", "boolean", "timestamptz"
_VERSIONED = (("updated_at", TS), ("version", BIGINT))

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        CUSTOMER_CONTEXT_VIEW,
        "customer_context",
        "customer_id",
        _cols(
            ("merged_into", TEXT),
            ("journey_stage", TEXT),
            ("last_channel", TEXT),
            ("order_count", INT),
            ("lifetime_value_minor", BIGINT),
            ("currency", TEXT),
            ("erased", BOOL),
            *_VERSIONED,
        ),
        indexes=("merged_into",),
    ),
    TableSpec(
        CART_VIEW,
        "carts",
        "cart_key",
        _cols(
            ("customer_id", TEXT),
            ("status", TEXT),
            ("item_count", INT),
            ("total_minor", BIGINT),
            ("currency", TEXT),
            ("merged_into", TEXT),
            *_VERSIONED,
        ),
        indexes=("customer_id",),
    ),
    TableSpec(
        STOCK_LEVEL_VIEW,
        "stock_levels",
        "stock_key",
        _cols(
            ("sku", TEXT),
            ("location_id", TEXT),
            ("on_hand", INT),
            ("reserved", INT),
            ("available", INT),
            *_VERSIONED,
        ),
        indexes=("sku", "location_id"),
    ),
    TableSpec(
        STOCK_TOTAL_VIEW,
        "stock_totals",
        "sku",
        _cols(
            ("on_hand", INT),
            ("reserved", INT),
            ("available", INT),
            ("locations", INT),
            *_VERSIONED,
        ),
    ),
    TableSpec(
        ORDER_VIEW,
        "orders",
        "order_id",
        _cols(
            ("customer_id", TEXT),
            ("status", TEXT),
            ("fulfilment", TEXT),
            ("location_id", TEXT),
            ("currency", TEXT),
            ("total_minor", BIGINT),
            ("placed_at", TS),
            *_VERSIONED,
        ),
        indexes=("customer_id", "status"),
    ),
)

TABLE_FOR: dict[str, TableSpec] = {spec.view.name: spec for spec in TABLES}


def table_for(view: Topic) -> TableSpec:
    return TABLE_FOR[view.name]


def latest_per_key(changes: list[Change]) -> tuple[list[Change], int]:
    """The last change of each (view, key) in batch order, and how many it superseded.

    Records of one key share a partition and arrive in offset order, so the
    last one is the newest; earlier ones would be overwritten in the same
    transaction anyway.
    """
    latest: dict[tuple[str, str], Change] = {}
    for change in changes:
        latest[(change.view.name, change.key)] = change
    return list(latest.values()), len(changes) - len(latest)
