"""One consumed batch, one PostgreSQL transaction.

Inside the transaction the sink first reads (and locks) its watermarks: per
topic partition, the next offset not yet applied, stored in the same
database. Records below it were applied before a crash that lost the Kafka
commit; they are skipped, so a redelivery changes nothing (not even a row
that a later tombstone deleted). The rest is upserted or deleted, newest per
key, the watermarks move past the batch, and the transaction commits before
the Kafka offsets do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import AsyncConnection, sql

from connectors.sinks import pg_sql
from connectors.sinks.exceptions import DatabaseFailed
from connectors.sinks.pg_tables import TableSpec, latest_per_key, table_for
from connectors.sinks.records import Change, RawRecord

Partition = tuple[str, int]


@dataclass
class Tally:
    """What a batch did, per view, for metrics and logs."""

    upserted: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    superseded: Counter[str] = field(default_factory=Counter)


def fresh_records(
    records: Iterable[RawRecord], watermarks: dict[Partition, int]
) -> list[RawRecord]:
    """Records at or past their partition's watermark (the rest were applied already)."""
    return [r for r in records if r.offset >= watermarks.get((r.topic, r.partition), 0)]


def next_offsets(records: Iterable[RawRecord]) -> dict[Partition, int]:
    """Per partition, the offset after the batch's last record."""
    result: dict[Partition, int] = {}
    for record in records:
        where = (record.topic, record.partition)
        result[where] = max(result.get(where, 0), record.offset + 1)
    return result


class PgWriter:
    """The sink's statements against one connection (autocommit; explicit transactions)."""

    def __init__(
        self, conn: AsyncConnection, schema: str, group_id: str, tables: Sequence[TableSpec]
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.group_id = group_id
        self.tables = tuple(tables)
        self._upsert = {t.view.name: pg_sql.upsert(schema, t) for t in self.tables}
        self._delete = {t.view.name: pg_sql.delete(schema, t) for t in self.tables}

    async def ensure_schema(self) -> None:
        """Create the schema, tables and indexes if missing (any number of sinks at once)."""
        statements: list[sql.Composed] = [pg_sql.create_schema(self.schema)]
        for table in self.tables:
            statements += [
                pg_sql.create_table(self.schema, table),
                *pg_sql.create_indexes(self.schema, table),
            ]
        statements.append(pg_sql.create_offsets(self.schema))
        try:
            async with self.conn.transaction():
                lock = "SELECT pg_advisory_xact_lock(hashtext(%s))"
                await self.conn.execute(lock, (pg_sql.DDL_LOCK,))
                for statement in statements:
                    await self.conn.execute(statement)
        except psycopg.Error as exc:
            raise DatabaseFailed(f"creating the sink tables in {self.schema!r}: {exc}") from exc

    async def watermarks(self, topics: Sequence[str]) -> dict[Partition, int]:
        """The group's next offsets for ``topics``, row-locked until the transaction ends."""
        cursor = await self.conn.execute(
            pg_sql.read_offsets(self.schema), (self.group_id, list(topics))
        )
        return {(topic, partition): offset for topic, partition, offset in await cursor.fetchall()}

    async def apply(self, changes: list[Change]) -> Tally:
        """Upsert or delete the newest change of each key (inside the caller's transaction)."""
        latest, _ = latest_per_key(changes)
        tally = Tally()
        tally.superseded.update(c.view.name for c in changes)
        tally.superseded.subtract(c.view.name for c in latest)
        async with self.conn.cursor() as cursor:
            for view, table_changes in _by_view(latest).items():
                table = table_for(table_changes[0].view)
                upserts = [table.row(c) for c in table_changes if not c.deleted]
                deletes = [table.delete_args(c) for c in table_changes if c.deleted]
                if upserts:
                    await cursor.executemany(self._upsert[view], upserts)
                if deletes:
                    await cursor.executemany(self._delete[view], deletes)
                tally.upserted[view] += len(upserts)
                tally.deleted[view] += len(deletes)
        return tally

    async def advance(self, offsets: dict[Partition, int]) -> None:
        rows = [(self.group_id, t, p, o) for (t, p), o in offsets.items()]
        async with self.conn.cursor() as cursor:
            await cursor.executemany(pg_sql.write_offset(self.schema), rows)


def _by_view(changes: Iterable[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.view.name, []).append(change)
    return grouped
