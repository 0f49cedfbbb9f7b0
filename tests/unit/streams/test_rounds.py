"""A round of partition runs: one flush, state written after it, nothing written for a moved run.

The processor's orchestration only; the table is a dict and the producer a
log of flushes (the real ones are exercised by the integration and fault
suites).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

from streams.batching import RawRecord
from streams.processor import BatchProcessor, watermark_key
from streams.transport.batch import BatchMessage, RecordBatch


class Out:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    async def flush(self) -> None:
        self.log.append("flush")


class Counter:
    def labels(self, *_: str) -> Counter:
        return self

    def inc(self, _: float = 1) -> None:
        pass


@dataclass
class Metrics:
    events: Counter = field(default_factory=Counter)


@dataclass
class Runtime:
    out: Out
    metrics: Metrics = field(default_factory=Metrics)


class Event:
    def __init__(self, message: BatchMessage) -> None:
        self.message = message


class Recorder(BatchProcessor):
    """Logs what the base class asks of a domain processor, and when."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        self.runtime = Runtime(Out(self.log))  # type: ignore[assignment]
        self.table = {}  # type: ignore[assignment]

    async def apply_partition(self, records: Sequence[Any]) -> Callable[[], None]:
        first = records[0]
        self.log.append(("apply", first.topic, first.partition))

        def store() -> None:
            self.log.append(("store", first.topic, first.partition))

        return store


def run(topic: str, partition: int, offsets: range, generation: int = 1) -> tuple[Event, Any]:
    records = [RawRecord(topic, partition, o, b"k", b"v", 0) for o in offsets]
    message = BatchMessage(RecordBatch(TP(topic, partition), records), generation)
    return Event(message), records


def done(event: Event) -> bool:
    return bool(event.message.done)


def test_runs_of_different_partitions_share_one_flush_then_write_in_order() -> None:
    processor = Recorder()
    a, b = run("t1", 0, range(0, 3)), run("t2", 1, range(5, 7))
    asyncio.run(processor.apply_round([a, b]))  # type: ignore[list-item]
    assert processor.log == [
        ("apply", "t1", 0),
        ("apply", "t2", 1),
        "flush",
        ("store", "t1", 0),
        ("store", "t2", 1),
    ]
    assert processor.table[watermark_key("t1")] == b"2"
    assert processor.table[watermark_key("t2")] == b"6"
    assert done(a[0])
    assert done(b[0])


def test_a_second_run_of_a_partition_sees_the_first_one_written() -> None:
    processor = Recorder()
    first, second = run("t1", 0, range(0, 2)), run("t2", 0, range(0, 2))
    asyncio.run(processor.apply_round([first, second]))  # type: ignore[list-item]
    assert processor.log == [
        ("apply", "t1", 0),
        "flush",
        ("store", "t1", 0),
        ("apply", "t2", 0),
        "flush",
        ("store", "t2", 0),
    ]


def test_a_run_below_the_watermark_is_skipped_but_settled() -> None:
    processor = Recorder()
    processor.table[watermark_key("t1")] = b"9"
    replayed = run("t1", 0, range(5, 10))
    asyncio.run(processor.apply_round([replayed]))  # type: ignore[list-item]
    assert processor.log == ["flush"]
    assert done(replayed[0])
