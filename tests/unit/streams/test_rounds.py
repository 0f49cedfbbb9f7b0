"""A round of partition runs: one flush, state written after it, nothing written for a moved run.

The processor's orchestration only; the table is a dict and the producer and
changelog writer logs of flushes (the real ones are exercised by the
integration and fault suites).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from faust.types import TP

from streams.batching import RawRecord
from streams.processor import BatchProcessor, Writes, by_table_partition, watermark_key
from streams.transport.batch import BatchMessage, RecordBatch


class Flow:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active


class App:
    """What :func:`streams.transport.revoked` asks of the app: flow and generation."""

    def __init__(self) -> None:
        self.flow_control = Flow()
        self.consumer_generation_id = 1


APP = App()


class Out:
    def __init__(self, log: list[Any], during_flush: Callable[[], None] | None = None) -> None:
        self.log = log
        self.during_flush = during_flush

    async def flush(self) -> None:
        self.log.append("flush")
        if self.during_flush is not None:
            self.during_flush()


class Counter:
    def labels(self, *_: str) -> Counter:
        return self

    def inc(self, _: float = 1) -> None:
        pass


@dataclass
class Metrics:
    events: Counter = field(default_factory=Counter)
    fenced: Counter = field(default_factory=Counter)


class Changelog:
    """Table writes straight into the dict; its flush logs what the table held when it began.

    The run's own writes must not be there yet when the handed state's wait begins.
    """

    def __init__(self, log: list[Any], during: Callable[[], None] = lambda: None) -> None:
        self.log = log
        self.during = during
        self.table: dict[bytes, bytes] = {}

    def write(self, table: dict[bytes, bytes], key: bytes, value: bytes) -> None:
        table[key] = value

    async def flush(self) -> None:
        self.log.append(("changelog acks", sorted(self.table)))
        self.during()


@dataclass
class Runtime:
    out: Out
    changelog: Changelog
    metrics: Metrics = field(default_factory=Metrics)


class Event:
    def __init__(self, message: BatchMessage, app: App = APP) -> None:
        self.message = message
        self.app = app


class Recorder(BatchProcessor):
    """Logs what the base class asks of a domain processor, and when."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        self.applied: list[list[tuple[str, int]]] = []  # each pass: its records' (topic, offset)
        self.changelog = Changelog(self.log)
        self.runtime = Runtime(Out(self.log), self.changelog)  # type: ignore[assignment]
        self.table = self.changelog.table  # type: ignore[assignment]

    async def apply_partition(self, records: Sequence[Any]) -> Callable[[], None]:
        first = records[0]
        self.log.append(("apply", first.topic, first.partition))
        self.applied.append([(r.topic, r.offset) for r in records])

        def store() -> None:
            self.log.append(("store", first.topic, first.partition))

        return store


def run(
    topic: str, partition: int, offsets: range, generation: int = 1, app: App = APP
) -> tuple[Event, Any]:
    records = [RawRecord(topic, partition, o, b"k", b"v", 0) for o in offsets]
    message = BatchMessage(RecordBatch(TP(topic, partition), records), generation)
    return Event(message, app), records


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


def test_a_partitions_runs_are_applied_in_one_pass_with_one_flush() -> None:
    # One by one, each repeat of a partition cost a flush and a round trip first.
    processor = Recorder()
    round_ = [
        run("t1", 0, range(0, 2)),
        run("t3", 1, range(0, 2)),  # the test's table is one dict: other topic, other key
        run("t2", 0, range(5, 7)),
        run("t1", 0, range(2, 3)),  # a second fetch of the same topic-partition
    ]
    asyncio.run(processor.apply_round(round_))  # type: ignore[arg-type]
    assert processor.log == [
        ("apply", "t1", 0),
        ("apply", "t3", 1),
        "flush",
        ("store", "t1", 0),
        ("store", "t3", 1),
    ]
    assert processor.applied[0] == [("t1", 0), ("t1", 1), ("t2", 5), ("t2", 6), ("t1", 2)]
    assert processor.table[watermark_key("t1")] == b"2"
    assert processor.table[watermark_key("t2")] == b"6"
    assert all(done(event) for event, _ in round_)


def test_each_topic_of_a_pass_is_skipped_by_its_own_watermark() -> None:
    processor = Recorder()
    processor.table[watermark_key("t2")] = b"6"
    round_ = [run("t1", 0, range(0, 3)), run("t2", 0, range(5, 8))]
    asyncio.run(processor.apply_round(round_))  # type: ignore[arg-type]
    assert processor.applied == [[("t1", 0), ("t1", 1), ("t1", 2), ("t2", 7)]]
    assert processor.table[watermark_key("t1")] == b"2"
    assert processor.table[watermark_key("t2")] == b"7"


def test_by_table_partition_joins_runs_and_keeps_their_order() -> None:
    round_ = [
        run("a", 0, range(0, 1)),
        run("b", 1, range(0, 1)),
        run("a", 0, range(1, 2)),
        run("c", 0, range(0, 1)),
    ]
    joined = by_table_partition(round_)  # type: ignore[arg-type]
    assert [[(r.topic, r.offset) for r in records] for _, records in joined] == [
        [("a", 0), ("a", 1), ("c", 0)],
        [("b", 0)],
    ]
    assert [events for events, _ in joined] == [
        [round_[0][0], round_[2][0], round_[3][0]],
        [round_[1][0]],
    ]


def test_a_run_below_the_watermark_is_skipped_but_settled() -> None:
    processor = Recorder()
    processor.table[watermark_key("t1")] = b"9"
    replayed = run("t1", 0, range(5, 10))
    asyncio.run(processor.apply_round([replayed]))  # type: ignore[list-item]
    assert processor.log == ["flush"]
    assert done(replayed[0])


def revoke_during_flush(app: App, how: str) -> Callable[[], None]:
    def revoke() -> None:
        if how == "suspended":
            app.flow_control.active = False  # Faust's revoke has begun
        else:
            app.consumer_generation_id += 1  # the rebalance is over: a new generation

    return revoke


@pytest.mark.parametrize("how", ["suspended", "new generation"])
def test_a_run_whose_partition_was_revoked_during_the_flush_is_neither_written_nor_settled(
    how: str,
) -> None:
    app = App()
    processor = Recorder()
    processor.runtime.out = Out(processor.log, revoke_during_flush(app, how))
    moved = run("t1", 0, range(0, 3), app=app)
    asyncio.run(processor.apply_round([moved]))  # type: ignore[list-item]
    assert processor.log == [("apply", "t1", 0), "flush"]
    assert watermark_key("t1") not in processor.table
    assert not done(moved[0])


def test_a_run_after_a_fenced_run_of_its_partition_is_not_applied() -> None:
    # The first run was applied and fenced; the second would read a table that
    # lacks it (an order placed there looks unknown) and dead-letter for nothing.
    app = App()
    processor = Recorder()
    processor.runtime.out = Out(processor.log, revoke_during_flush(app, "suspended"))
    first, second = run("t1", 0, range(0, 3), app=app), run("t1", 0, range(3, 5), app=app)
    asyncio.run(processor.apply_round([first, second]))  # type: ignore[list-item]
    assert processor.log == [("apply", "t1", 0), "flush"]
    assert not done(first[0])
    assert not done(second[0])


def test_a_stale_run_does_not_fence_the_next_generations_run_of_its_partition() -> None:
    # The stale run was fetched before a rebalance; the seek after it fetched the
    # partition again. Fenced together, the fresh run was dropped and never fetched
    # again, and the watermark of the run after it skipped its records.
    app = App()
    app.consumer_generation_id = 2
    processor = Recorder()
    stale = run("t1", 0, range(0, 3), generation=1, app=app)
    fresh = run("t1", 0, range(0, 5), generation=2, app=app)
    asyncio.run(processor.apply_round([stale, fresh]))  # type: ignore[list-item]
    assert processor.applied == [[("t1", o) for o in range(5)]]
    assert processor.table[watermark_key("t1")] == b"4"
    assert done(fresh[0])
    assert not done(stale[0])


def test_a_run_taken_after_the_revoke_began_is_not_applied() -> None:
    app = App()
    processor = Recorder()
    stale = run("t1", 0, range(0, 3), app=app)
    app.flow_control.active = False
    asyncio.run(processor.apply_round([stale]))  # type: ignore[list-item]
    assert processor.log == []
    assert not done(stale[0])


class Handing(Recorder):
    """A stage-1 processor that also writes stage 2's table in process (the identity hand-off)."""

    def __init__(self, app: App = APP, during: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self.changelog.during = during

    async def apply_partition(self, records: Sequence[Any]) -> Writes:
        store = await super().apply_partition(records)
        first = records[0]

        def handed() -> None:
            self.log.append(("handed", first.topic, first.partition))

        return Writes(store, handed)


def test_handed_state_is_acknowledged_before_the_run_is_written_as_applied() -> None:
    # The other way round, a crash between the two changelogs lost the handed
    # state for good: the rerun found the run applied (watermark, event ids).
    processor = Handing()
    a = run("t1", 0, range(0, 3))
    asyncio.run(processor.apply_round([a]))  # type: ignore[list-item]
    assert processor.log == [
        ("apply", "t1", 0),
        "flush",
        ("handed", "t1", 0),
        ("changelog acks", []),
        ("store", "t1", 0),
    ]
    assert processor.table[watermark_key("t1")] == b"2"
    assert done(a[0])


def test_a_run_revoked_while_its_handed_state_is_acknowledged_is_not_written_as_applied() -> None:
    app = App()
    processor = Handing(app, revoke_during_flush(app, "suspended"))
    moved = run("t1", 0, range(0, 3), app=app)
    asyncio.run(processor.apply_round([moved]))  # type: ignore[list-item]
    assert processor.log[-1] == ("changelog acks", [])
    assert watermark_key("t1") not in processor.table
    assert not done(moved[0])


def test_rounds_without_handed_state_do_not_wait_for_the_changelogs() -> None:
    processor = Recorder()
    asyncio.run(processor.apply_round([run("t1", 0, range(0, 3))]))  # type: ignore[list-item]
    assert not [
        entry
        for entry in processor.log
        if isinstance(entry, tuple) and entry[0] == "changelog acks"
    ]
