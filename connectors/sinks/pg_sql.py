"""The SQL of the PostgreSQL sink, composed once per table with ``psycopg.sql``.

Identifiers are always quoted through ``sql.Identifier`` (the schema name
comes from settings). The upsert's ``WHERE`` is the offset guard: a row
written from a later offset of the same topic partition is never
overwritten by an earlier one, so a redelivered record changes nothing. The
same guard protects a newer row from a stale tombstone.
"""

from __future__ import annotations

from psycopg import sql

from connectors.sinks.pg_tables import TableSpec

OFFSETS_TABLE = "sink_offsets"
DDL_LOCK = "omni-sink-ddl"


def qualified(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def create_schema(schema: str) -> sql.Composed:
    return sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))


def create_table(schema: str, spec: TableSpec) -> sql.Composed:
    columns = [
        sql.SQL("{} text PRIMARY KEY").format(sql.Identifier(spec.key_column)),
        *(
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type))
            for c in spec.columns
        ),
        sql.SQL("view jsonb NOT NULL"),
        sql.SQL("record text NOT NULL"),
        sql.SQL("source_topic text NOT NULL"),
        sql.SQL("source_partition integer NOT NULL"),
        sql.SQL("source_offset bigint NOT NULL"),
        sql.SQL("synced_at timestamptz NOT NULL DEFAULT now()"),
    ]
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
        qualified(schema, spec.table), sql.SQL(", ").join(columns)
    )


def create_indexes(schema: str, spec: TableSpec) -> list[sql.Composed]:
    return [
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
            sql.Identifier(f"{spec.table}_{column}_idx"),
            qualified(schema, spec.table),
            sql.Identifier(column),
        )
        for column in spec.indexes
    ]


def create_offsets(schema: str) -> sql.Composed:
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} ("
        "consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, "
        "next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (consumer_group, topic, partition))"
    ).format(qualified(schema, OFFSETS_TABLE))


def upsert(schema: str, spec: TableSpec) -> sql.Composed:
    names = spec.column_names
    updated = [n for n in names if n != spec.key_column]
    return sql.SQL(
        "INSERT INTO {table} AS t ({columns}) VALUES ({values}) "
        "ON CONFLICT ({key}) DO UPDATE SET {assignments}, synced_at = now() "
        "WHERE t.source_topic <> EXCLUDED.source_topic "
        "OR t.source_partition <> EXCLUDED.source_partition "
        "OR t.source_offset < EXCLUDED.source_offset"
    ).format(
        table=qualified(schema, spec.table),
        columns=sql.SQL(", ").join(map(sql.Identifier, names)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(names)),
        key=sql.Identifier(spec.key_column),
        assignments=sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in updated
        ),
    )


def delete(schema: str, spec: TableSpec) -> sql.Composed:
    return sql.SQL(
        "DELETE FROM {table} WHERE {key} = %s "
        "AND (source_topic <> %s OR source_partition <> %s OR source_offset < %s)"
    ).format(table=qualified(schema, spec.table), key=sql.Identifier(spec.key_column))


def read_offsets(schema: str) -> sql.Composed:
    """Watermarks of the group's partitions, locked until the batch commits."""
    return sql.SQL(
        "SELECT topic, partition, next_offset FROM {} "
        "WHERE consumer_group = %s AND topic = ANY(%s) FOR UPDATE"
    ).format(qualified(schema, OFFSETS_TABLE))


def write_offset(schema: str) -> sql.Composed:
    return sql.SQL(
        "INSERT INTO {} AS o (consumer_group, topic, partition, next_offset) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (consumer_group, topic, partition) "
        "DO UPDATE SET next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset), "
        "updated_at = now()"
    ).format(qualified(schema, OFFSETS_TABLE))
