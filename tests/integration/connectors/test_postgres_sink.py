"""The PostgreSQL sink against a real broker, registry and PostgreSQL server.

The tables must equal the view topics read to the end, key by key; a
redelivery (offsets reset, as a crash between the database commit and the
Kafka commit leaves them) must not touch a single row; a tombstone deletes
its row; a record that is not Avro goes to the dead-letter topic with its
bytes. Each test's sink has its own consumer group and PostgreSQL schema and
reads the module's view topics from the start.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from connectors.sinks.pg_tables import TABLES, table_for
from connectors.sinks.postgres import PostgresSink
from schemas.catalogue import CART_VIEW, DEAD_LETTERS, POSTGRES_SINK, STOCK_LEVEL_VIEW, Topic
from schemas.settings import ConnectorsSettings, PostgresSinkSettings, Settings
from tests.integration.connectors.kafka_reader import read_events
from tests.integration.connectors.sink_support import (
    ViewProducer,
    read_to_end,
    reset_group,
    run_until,
    topic_size,
    view_value,
)
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

KEYS_PER_VIEW = 60
VERSIONS = 3
VIEWS = [spec.view for spec in TABLES]


def sink_settings(env: ContractEnv, dsn: str, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "dsn": dsn,
        "db_schema": f"t_{uuid.uuid4().hex[:10]}",
        "group_id": f"pg-sink-{uuid.uuid4().hex}",
        "batch_max_records": 500,
        "poll_timeout_s": 0.2,
    }
    config = PostgresSinkSettings(**{**fields, **overrides})
    return env.settings.model_copy(update={"connectors": ConnectorsSettings(postgres_sink=config)})


def key_for(view: Topic, n: int, tag: str) -> str:
    if view is STOCK_LEVEL_VIEW:
        return f"SKU-{n:06d}{tag}@STORE-{n % 7:03d}"
    return f"K-{n:05d}{tag}"


def produce_views(env: ContractEnv, tag: str) -> ViewProducer:
    """Every view: updates over many keys, some keys deleted, some deleted and re-created."""
    out = ViewProducer(env)
    for view in VIEWS:
        keys = [key_for(view, n, tag) for n in range(KEYS_PER_VIEW)]
        for version in range(1, VERSIONS + 1):
            for seed, key in enumerate(keys):
                out.put(view, key, view_value(view, key, version, seed * 10 + version))
        for key in keys[:10]:
            out.put(view, key, None)
        for seed, key in enumerate(keys[:4]):
            out.put(view, key, view_value(view, key, VERSIONS + 1, seed))
    out.flush()
    return out


def table_rows(dsn: str, schema: str, view: Topic) -> dict[str, dict[str, Any]]:
    """Every row of the view's table, with ``xmin`` (changes whenever a row is rewritten)."""
    spec = table_for(view)
    query = sql.SQL("SELECT *, xmin::text AS row_version FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(spec.table)
    )
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query)
        return {row[spec.key_column]: row for row in cur.fetchall()}


def snapshot(dsn: str, schema: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {view.name: table_rows(dsn, schema, view) for view in VIEWS}


def assert_tables_equal_topics(env: ContractEnv, dsn: str, schema: str) -> None:
    for spec in TABLES:
        expected = read_to_end(env, spec.view)
        rows = table_rows(dsn, schema, spec.view)
        assert set(rows) == set(expected), spec.table
        for key, value in expected.items():
            row = rows[key]
            assert row["view"] == orjson.loads(orjson.dumps(value)), (spec.table, key)
            for column in spec.columns:
                assert row[column.name] == value[column.source], (spec.table, key, column.name)


def run_sink(settings: Settings, done: Callable[[PostgresSink], bool]) -> PostgresSink:
    sink = PostgresSink(settings)
    asyncio.run(run_until(sink, lambda: done(sink)))
    return sink


def counted(sink: PostgresSink, outcome: str) -> float:
    return sum(
        sample.value
        for metric in sink.metrics.records.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["outcome"] == outcome
    )


def test_tables_equal_the_views_and_a_redelivery_changes_nothing(
    contract_env: ContractEnv, postgres_dsn: str
) -> None:
    produce_views(contract_env, "-a")
    poison = ViewProducer(contract_env)
    poison.put_raw(CART_VIEW.physical(contract_env.prefix), "K-poison", b"not avro at all")
    poison.flush()
    settings = sink_settings(contract_env, postgres_dsn)
    config = settings.connectors.postgres_sink
    total = topic_size(contract_env, VIEWS)

    first = run_sink(settings, lambda sink: sink.applied >= total)
    assert first.applied == total
    assert_tables_equal_topics(contract_env, postgres_dsn, config.db_schema)

    letters = read_events(
        contract_env,
        lambda landed: landed.headers.get("omni.processor") == POSTGRES_SINK.encode(),
        expected=1,
        topics=[DEAD_LETTERS.physical(contract_env.prefix)],
    )
    assert [letter.raw for letter in letters] == [b"not avro at all"]
    headers = letters[0].headers
    assert headers["omni.error.reason"] == b"bad_magic_byte"
    assert headers["omni.source.topic"] == CART_VIEW.physical(contract_env.prefix).encode()

    before = snapshot(postgres_dsn, config.db_schema)
    reset_group(contract_env, config.group_id, [v.physical(contract_env.prefix) for v in VIEWS])
    again = run_sink(settings, lambda sink: counted(sink, "redelivered") >= total)
    assert again.applied == 0
    assert snapshot(postgres_dsn, config.db_schema) == before  # not one row rewritten (xmin)


def test_a_tombstone_deletes_the_row(contract_env: ContractEnv, postgres_dsn: str) -> None:
    producer = ViewProducer(contract_env)
    keys = [f"K-tomb-{n}" for n in range(5)]
    for seed, key in enumerate(keys):
        producer.put(CART_VIEW, key, view_value(CART_VIEW, key, 1, seed))
    producer.flush()
    settings = sink_settings(contract_env, postgres_dsn, views=["carts"])
    schema = settings.connectors.postgres_sink.db_schema
    size = topic_size(contract_env, [CART_VIEW])
    run_sink(settings, lambda sink: sink.applied >= size)
    assert set(keys) <= set(table_rows(postgres_dsn, schema, CART_VIEW))

    producer.put(CART_VIEW, keys[0], None)
    producer.flush()
    run_sink(settings, lambda sink: sink.applied >= 1)
    rows = table_rows(postgres_dsn, schema, CART_VIEW)
    assert keys[0] not in rows
    assert set(keys[1:]) <= set(rows)
    assert set(rows) == set(read_to_end(contract_env, CART_VIEW))


def test_a_replay_without_watermarks_never_moves_a_row_back(
    contract_env: ContractEnv, postgres_dsn: str
) -> None:
    """The row guard alone (watermarks wiped): older offsets never overwrite newer rows."""
    produce_views(contract_env, "-b")
    settings = sink_settings(contract_env, postgres_dsn, batch_max_records=50)
    config = settings.connectors.postgres_sink
    total = topic_size(contract_env, VIEWS)
    run_sink(settings, lambda sink: sink.applied >= total)
    before = snapshot(postgres_dsn, config.db_schema)

    offsets_table = sql.SQL("DELETE FROM {}.sink_offsets").format(sql.Identifier(config.db_schema))
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(offsets_table)
    reset_group(contract_env, config.group_id, [v.physical(contract_env.prefix) for v in VIEWS])
    run_sink(settings, lambda sink: sink.applied >= total)

    after = snapshot(postgres_dsn, config.db_schema)
    for view in VIEWS:
        assert set(after[view.name]) == set(before[view.name]), view.name
        for key, row in after[view.name].items():
            old = before[view.name][key]
            assert (row["source_offset"], row["view"]) == (old["source_offset"], old["view"])
    assert_tables_equal_topics(contract_env, postgres_dsn, config.db_schema)


BENCH_ROWS = 20_000


def test_throughput_rows_per_second(contract_env: ContractEnv, postgres_dsn: str) -> None:
    """Distinct keys, so every record is a row written (nothing collapses within a batch)."""
    producer = ViewProducer(contract_env)
    for n in range(BENCH_ROWS):
        key = f"SKU-{n:06d}-bench@STORE-{n % 50:03d}"
        producer.put(STOCK_LEVEL_VIEW, key, view_value(STOCK_LEVEL_VIEW, key, 1, n))
    producer.flush()
    settings = sink_settings(
        contract_env, postgres_dsn, views=["stock-levels"], batch_max_records=2000
    )
    total = topic_size(contract_env, [STOCK_LEVEL_VIEW])
    sink = PostgresSink(settings)
    wall = asyncio.run(run_until(sink, lambda: sink.applied >= total, timeout_s=240))
    in_batches = sum(
        sample.value
        for metric in sink.metrics.batch_seconds.collect()
        for sample in metric.samples
        if sample.name.endswith("_sum")
    )
    rows = len(
        table_rows(postgres_dsn, settings.connectors.postgres_sink.db_schema, STOCK_LEVEL_VIEW)
    )
    print(
        f"\npostgres sink: {total} records, {rows} rows in {wall:.2f}s wall "
        f"({total / wall:.0f} records/s, group join included); "
        f"{in_batches:.2f}s in batches ({total / in_batches:.0f} records/s)"
    )
    assert rows >= BENCH_ROWS
    assert total / in_batches > 1000, "far below what one transaction per batch should give"
