"""Table writes through the emissions' producer: Faust's store, Faust's changelog record, offsets.

A real Faust table on a real RocksDB store; the producer is a log of what was
queued, and its delivery reports are played back by hand the way librdkafka
calls them (the real producer against a broker: the integration suite's
recovery tests and the fault suite).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from confluent_kafka import KafkaError, Message
from faust.types import TP

from streams.batching import current
from streams.changelog import Changelog
from streams.exceptions import EmitFailed, UnsupportedTable
from streams.transport.exceptions import ChangelogNotAcknowledged


class Out:
    """What the changelog asks of :class:`streams.output.Output`."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, bytes, bytes | None, int, Any]] = []
        self.refused: list[str] = []

    def produce(
        self, topic: str, key: bytes, value: bytes | None, partition: int, report: Any
    ) -> None:
        self.queued.append((topic, key, value, partition, report))

    def failed(self, err: KafkaError, msg: Message) -> None:
        self.refused.append(f"{msg.topic()}: {err.str()}")

    async def flush(self) -> None:
        if self.refused:
            raise EmitFailed(f"{len(self.refused)} emitted records failed, e.g. {self.refused[0]}")

    def acknowledge(self, offsets: list[int]) -> None:
        """Report the queued records delivered at ``offsets``, in order."""
        for (topic, key, value, partition, report), offset in zip(
            self.queued, offsets, strict=True
        ):
            report(
                None, Message(topic=topic, partition=partition, offset=offset, key=key, value=value)
            )


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Any]:
    app = faust.App(
        "changelog-unit", broker="kafka://127.0.0.1:1", store="rocksdb://", datadir=str(tmp_path)
    )
    table = app.Table("things", key_type=bytes, value_type=bytes, partitions=4)
    yield table
    for db in table.data._dbs.values():
        db.close()


class Event:
    """An event as the transport delivers it: what a table write asks of it is its partition."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def on_partition(partition: int) -> Any:
    return Event(partition)


def test_a_write_sets_the_current_partitions_store_and_queues_its_changelog_record(
    table: Any,
) -> None:
    out = Out()
    writer = Changelog(out)  # type: ignore[arg-type]
    event = on_partition(2)
    with current(event):
        writer.write(table, b"sku-1", b'{"on_hand":3}')
    assert [q[:4] for q in out.queued] == [
        ("changelog-unit-things-changelog", b"sku-1", b'{"on_hand":3}', 2)
    ]
    assert table.data._dbs[2][b"sku-1"] == b'{"on_hand":3}'
    assert set(table.data._dbs) == {2}


def test_each_partition_persists_its_last_acknowledged_offset_at_the_flush(table: Any) -> None:
    out = Out()
    writer = Changelog(out)  # type: ignore[arg-type]
    for partition, key in [(0, b"a"), (1, b"b"), (0, b"c")]:
        with current(on_partition(partition)):
            writer.write(table, key, b"v")
    out.acknowledge([7, 3, 9])
    topic = "changelog-unit-things-changelog"
    assert table.data.persisted_offset(TP(topic, 0)) is None  # not before the flush
    asyncio.run(writer.flush())
    assert table.data.persisted_offset(TP(topic, 0)) == 9
    assert table.data.persisted_offset(TP(topic, 1)) == 3


def test_a_refused_record_fails_the_flush_and_the_acknowledged_offsets_still_persist(
    table: Any,
) -> None:
    out = Out()
    writer = Changelog(out)  # type: ignore[arg-type]
    for key in (b"a", b"b"):
        with current(on_partition(0)):
            writer.write(table, key, b"v")
    topic, _, _, partition, report = out.queued[0]
    report(None, Message(topic=topic, partition=partition, offset=4))
    report(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION), Message(topic=topic, partition=0))
    with pytest.raises(ChangelogNotAcknowledged, match="1 emitted records failed"):
        asyncio.run(writer.flush())
    assert table.data.persisted_offset(TP(topic, 0)) == 4
    out.refused.clear()  # the producer forgets; the table still lacks the write in its changelog
    with pytest.raises(ChangelogNotAcknowledged, match="1 emitted records failed"):
        asyncio.run(writer.flush())


def test_a_table_of_other_serializers_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    app = faust.App("changelog-unit", broker="kafka://127.0.0.1:1", store="memory://")
    table = app.Table("json-things", partitions=4)  # Faust's default: json values
    out = Out()
    with current(on_partition(0)), pytest.raises(UnsupportedTable, match="raw bytes"):
        Changelog(out).write(table, b"k", b"v")  # type: ignore[arg-type]
    assert out.queued == []
    assert dict(table.data) == {}


def test_a_write_outside_an_event_is_refused(table: Any) -> None:
    out = Out()
    with pytest.raises(UnsupportedTable, match="no event is current"):
        Changelog(out).write(table, b"k", b"v")  # type: ignore[arg-type]
    assert out.queued == []
