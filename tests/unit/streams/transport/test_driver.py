"""The driver and its API on an app that is built but never started (no broker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.structs import ConsumerRecord
from faust.transport import by_url
from faust.types import TP

from streams.transport import (
    BATCH_SCHEME,
    BatchMessage,
    NotABatch,
    RecordBatch,
    WrongTransport,
    batch_topic,
    batches,
    iter_batch,
    register,
)
from streams.transport.batch import BatchSchema
from streams.transport.driver import Consumer, Transport, _Run

SRC = TP("src", 0)


def records(topic: str, first: int, last: int) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(topic, 0, o, 1_000 * o, 0, b"k%d" % o, b"v%d" % o, None, 2, 2, [])
        for o in range(first, last + 1)
    ]


@pytest.fixture
def app() -> faust.App:
    register()
    return faust.App("transport-unit", broker=f"{BATCH_SCHEME}://127.0.0.1:1", store="memory://")


@pytest.fixture
def consumer(app: faust.App) -> Consumer:
    batch_topic(app, "src")
    consumer = app.consumer
    assert isinstance(consumer, Consumer)
    return consumer


def test_register_makes_the_scheme_pick_the_driver() -> None:
    register()
    register()
    assert by_url(f"{BATCH_SCHEME}://localhost:9092") is Transport


def test_a_batch_topic_needs_the_batching_broker() -> None:
    app = faust.App("transport-unit-kafka", broker="kafka://127.0.0.1:1", store="memory://")
    with pytest.raises(WrongTransport, match="omnibatch://"):
        batch_topic(app, "src")


def test_only_declared_topics_are_batched(app: faust.App, consumer: Consumer) -> None:
    other = TP("other", 0)
    fetched = {SRC: records("src", 0, 4), other: records("other", 0, 4)}

    async def getmany(active: Any, timeout: float) -> Any:
        return fetched

    consumer._thread = SimpleNamespace(getmany=getmany)  # type: ignore[assignment]
    consumer._sought = app.consumer_generation_id
    got = asyncio.run(consumer._getmany({SRC, other}, 1.0))
    assert [type(r) for r in got[SRC]] == [_Run]
    assert got[other] == fetched[other]
    assert isinstance(consumer._to_message(other, got[other][0]), faust.types.tuples.Message)
    assert not isinstance(consumer._to_message(other, got[other][0]), BatchMessage)


def handed_over(consumer: Consumer, first: int, last: int) -> BatchMessage:
    """A batch built from one fetch and handed to the conductor, as ``_drain_messages`` does."""
    message = consumer._to_message(SRC, _Run(records("src", first, last)))
    assert isinstance(message, BatchMessage)
    delivered: list[Any] = []

    async def conductor(msg: Any) -> None:
        delivered.append(msg)

    asyncio.run(consumer._listing(conductor)(message))
    assert delivered == [message]
    return message


CHANGELOG = TP("transport-unit-table-changelog", 0)


@pytest.fixture
def asked(app: faust.App, consumer: Consumer) -> list[set[TP]]:
    """The partition sets the consumer thread is asked to fetch."""
    calls: list[set[TP]] = []

    async def getmany(active: set[TP], timeout: float) -> Any:
        await asyncio.sleep(0)
        calls.append(set(active))
        return {}

    consumer._thread = SimpleNamespace(getmany=getmany)  # type: ignore[assignment]
    consumer._is_changelog_tp = lambda tp: tp.topic == CHANGELOG.topic  # type: ignore[method-assign]
    return calls


def test_the_fetch_asks_for_the_partitions_active_when_it_was_called(
    app: faust.App, consumer: Consumer, asked: list[set[TP]]
) -> None:
    # Faust's recovery pauses the changelogs (the live set empties) while a fetch
    # waits; aiokafka reads an empty set as "every partition" and would hand over
    # stream records that Faust then drops after their positions moved past them.
    live = {CHANGELOG}

    async def fetch() -> None:
        pending = asyncio.ensure_future(consumer._getmany(live, 1.0))
        await asyncio.sleep(0)
        live.clear()  # the recovery ends meanwhile
        await pending

    asyncio.run(fetch())
    assert asked == [{CHANGELOG}]


def test_an_empty_active_set_fetches_nothing(consumer: Consumer, asked: list[set[TP]]) -> None:
    assert asyncio.run(consumer._getmany(set(), 1.0)) == {}
    assert asked == []


def test_stream_partitions_wait_for_the_generation_s_seek_to_complete(
    app: faust.App, consumer: Consumer, asked: list[set[TP]]
) -> None:
    during: list[set[TP]] = []

    async def seek_to_committed() -> dict[TP, int]:
        await consumer._getmany({SRC, CHANGELOG}, 1.0)  # the fetch loop runs meanwhile
        during.extend(asked)
        return {SRC: 0}

    consumer.seek_to_committed = seek_to_committed  # type: ignore[method-assign]

    async def scenario() -> None:
        await consumer._getmany({SRC, CHANGELOG}, 1.0)  # new generation, not sought yet
        await consumer.perform_seek()
        await consumer._getmany({SRC, CHANGELOG}, 1.0)
        app.consumer_generation_id += 1  # the next rebalance
        await consumer._getmany({SRC, CHANGELOG}, 1.0)

    asyncio.run(scenario())
    assert during == [{CHANGELOG}, {CHANGELOG}], "nothing but changelogs before and during"
    assert asked == [{CHANGELOG}, {CHANGELOG}, {SRC, CHANGELOG}, {CHANGELOG}]


def test_a_run_settled_during_the_commit_flush_waits_for_the_next_commit(
    app: faust.App, consumer: Consumer
) -> None:
    first = handed_over(consumer, 0, 4)
    second = handed_over(consumer, 5, 9)
    first.acked = True
    committed: list[dict[TP, int]] = []

    async def flush() -> None:
        second.acked = True  # settled while the flush waits: its writes are behind it

    async def commit_offsets(offsets: dict[TP, int], **_: Any) -> bool:
        committed.append(dict(offsets))
        return True

    app._producer = SimpleNamespace(flush=flush)  # type: ignore[assignment]
    consumer._commit_offsets = commit_offsets  # type: ignore[method-assign]
    assert asyncio.run(consumer._commit_tps([SRC], start_new_transaction=False))
    assert committed == [{SRC: 5}]
    assert consumer._new_offset(SRC) == 10, "the next commit takes it"


def test_a_stopping_worker_whose_changelogs_hang_commits_nothing_and_goes_on_stopping(
    app: faust.App, consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streams.transport.driver.STOP_FLUSH_S", 0.1)
    handed_over(consumer, 0, 4).acked = True
    committed: list[dict[TP, int]] = []

    async def flush() -> None:
        await asyncio.sleep(3600)  # the brokers are gone: nothing is ever acknowledged

    async def commit_offsets(offsets: dict[TP, int], **_: Any) -> bool:
        committed.append(dict(offsets))
        return True

    app._producer = SimpleNamespace(flush=flush)  # type: ignore[assignment]
    consumer._commit_offsets = commit_offsets  # type: ignore[method-assign]
    consumer._stopped.set()  # SIGTERM: the consumer is stopping
    assert not asyncio.run(
        asyncio.wait_for(consumer._commit_tps([SRC], start_new_transaction=False), 5)
    )
    assert committed == []


def test_a_batch_message_is_committed_past_its_last_record_once_settled(
    consumer: Consumer,
) -> None:
    first, second = handed_over(consumer, 0, 4), handed_over(consumer, 5, 9)
    assert (first.offset, len(first.batch)) == (4, 5)
    assert [r.offset for r in iter_batch(second.batch)] == [5, 6, 7, 8, 9]

    second.acked = True
    assert consumer._new_offset(SRC) is None, "the first batch is not acked yet"
    first.acked = True
    assert consumer._new_offset(SRC) == 10


def test_a_batch_dropped_before_the_conductor_does_not_hold_commits(consumer: Consumer) -> None:
    # _drain_messages drops a message below its read offset without calling back.
    consumer._to_message(SRC, _Run(records("src", 0, 4)))
    later = handed_over(consumer, 5, 9)
    later.acked = True
    assert consumer._new_offset(SRC) == 10


def test_an_ack_while_the_flow_is_stopped_does_not_count(
    app: faust.App, consumer: Consumer
) -> None:
    message = handed_over(consumer, 0, 4)
    app.flow_control.suspend()
    consumer.ack(message)
    assert message.acked
    assert message.skipped
    assert consumer._new_offset(SRC) is None


def test_an_ack_in_the_flow_counts(app: faust.App, consumer: Consumer) -> None:
    message = handed_over(consumer, 0, 4)
    app.flow_control.resume()
    consumer.ack(message)
    assert consumer._new_offset(SRC) == 5


def test_the_batch_schema_refuses_bytes(app: faust.App) -> None:
    message = faust.types.tuples.Message("src", 0, 3, 0.0, 0, [], b"k", b"raw", None)
    with pytest.raises(NotABatch, match="omnibatch"):
        BatchSchema().loads_value(app, message)


def test_iter_batch_refuses_an_event_without_a_batch() -> None:
    event = SimpleNamespace(value=b"raw", message=SimpleNamespace(tp=SRC))
    with pytest.raises(NotABatch):
        list(iter_batch(event))  # type: ignore[arg-type]


class FakeStream:
    """What ``batches`` uses of a stream: ``events()``."""

    def __init__(self, messages: list[BatchMessage]) -> None:
        self.messages = messages

    async def events(self) -> AsyncIterator[Any]:
        for message in self.messages:
            yield SimpleNamespace(message=message, value=message.batch)


def make_messages(n: int) -> list[BatchMessage]:
    return [BatchMessage(RecordBatch(SRC, records("src", 10 * i, 10 * i + 9)), 0) for i in range(n)]


def test_batches_marks_a_batch_done_only_after_the_body_returned() -> None:
    messages = make_messages(3)

    async def agent() -> list[int]:
        seen = []
        async for batch in batches(FakeStream(messages)):  # type: ignore[arg-type]
            seen.append(batch.last_offset)
            if batch.last_offset == 19:
                raise RuntimeError("the body failed")
        return seen

    with pytest.raises(RuntimeError):
        asyncio.run(agent())
    for message in messages:
        message.acked = True  # Faust acks the failed event too
    assert [m.settled for m in messages[:2]] == [True, False]
    assert not messages[2].claimed, "the agent never reached the third batch"


def test_changelog_pauses_are_mirrored_into_aiokafka_both_ways() -> None:
    """Faust's logical pauses of changelogs become aiokafka pauses; its resumes, resumes."""
    from aiokafka.structs import TopicPartition

    from streams.transport.driver import mirrored_pauses

    log0, log1, log2 = (TopicPartition("app-t-changelog", p) for p in range(3))
    source = TopicPartition("src", 0)
    pause, resume = mirrored_pauses(
        assigned={log0, log1, log2, source},
        faust_paused={TP("app-t-changelog", 0), TP("app-t-changelog", 2), TP("src", 0)},
        aiokafka_paused={log1, log2},
        changelogs={"app-t-changelog"},
    )
    assert pause == {log0}  # paused by Faust, still fetched by aiokafka
    assert resume == {log1}  # resumed by Faust (recovery, standby), still paused in aiokafka
    assert all(type(tp) is TopicPartition for tp in pause | resume)  # aiokafka refuses tuples


def test_only_assigned_changelogs_are_paused_and_sources_are_left_alone() -> None:
    from aiokafka.structs import TopicPartition

    from streams.transport.driver import mirrored_pauses

    pause, resume = mirrored_pauses(
        assigned={TopicPartition("src", 0)},
        faust_paused={TP("app-t-changelog", 5), TP("src", 0)},
        aiokafka_paused=set(),
        changelogs={"app-t-changelog"},
    )
    assert (pause, resume) == (set(), set())
