"""The transport's producer: its flush is a barrier for what ``send_soon`` buffered (no broker).

Faust's own buffer flush gives up after 0.1 s without progress; these tests
stand in a buffer that never hands anything over by itself, as a starved
buffer task does under CPU load, and resolve the records' futures by hand
the way an acknowledgement (or a failure) from the brokers would.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.types.tuples import FutureMessage, PendingMessage

from streams.transport import BATCH_SCHEME, register
from streams.transport.exceptions import ChangelogNotAcknowledged
from streams.transport.producer import Producer, stopped_clean


class StarvedBuffer:
    """Holds what is put; its flush returns at once, like Faust's after its 0.1 s timeout."""

    def __init__(self) -> None:
        self.held: list[FutureMessage] = []
        self.flushes = 0

    def put(self, fut: FutureMessage) -> None:
        self.held.append(fut)

    async def flush(self) -> None:
        self.flushes += 1


@pytest.fixture
def producer() -> Producer:
    register()
    app = faust.App("producer-unit", broker=f"{BATCH_SCHEME}://127.0.0.1:1", store="memory://")
    producer = app.producer
    assert isinstance(producer, Producer)
    producer.buffer = StarvedBuffer()  # type: ignore[assignment]
    producer._producer = None  # no aiokafka producer: nothing to flush below the buffer
    return producer


def record(n: int) -> FutureMessage:
    message = PendingMessage(
        channel=None,  # type: ignore[arg-type]
        key=b"k%d" % n,
        value=b"v%d" % n,
        partition=0,
        timestamp=None,
        headers=None,
        key_serializer=None,
        value_serializer=None,
        callback=None,
    )
    return FutureMessage(message)


async def flushing(producer: Producer) -> asyncio.Task[Any]:
    task = asyncio.ensure_future(producer.flush())
    await asyncio.sleep(0.3)  # longer than Faust's flush would ever wait for one record
    return task


def test_flush_waits_until_every_buffered_record_is_acknowledged(producer: Producer) -> None:
    async def scenario() -> None:
        first, second = record(1), record(2)
        producer.send_soon(first)
        producer.send_soon(second)
        task = await flushing(producer)
        assert not task.done(), "the flush returned with records not acknowledged"
        first.set_result(None)
        await asyncio.sleep(0.1)
        assert not task.done()
        second.set_result(None)
        await asyncio.wait_for(task, 1.0)
        assert producer.unacknowledged == 0
        assert producer.buffer.flushes > 1  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_flush_does_not_wait_for_records_buffered_after_it_began(producer: Producer) -> None:
    async def scenario() -> None:
        before = record(1)
        producer.send_soon(before)
        task = asyncio.ensure_future(producer.flush())
        await asyncio.sleep(0)
        producer.send_soon(record(2))
        before.set_result(None)
        await asyncio.wait_for(task, 1.0)
        assert producer.unacknowledged == 1

    asyncio.run(scenario())


def test_a_failed_record_fails_this_flush_and_every_later_one(producer: Producer) -> None:
    async def scenario() -> None:
        fut = record(1)
        producer.send_soon(fut)
        task = await flushing(producer)
        fut.set_exception(RuntimeError("broker refused"))
        with pytest.raises(ChangelogNotAcknowledged, match="broker refused"):
            await asyncio.wait_for(task, 1.0)
        with pytest.raises(ChangelogNotAcknowledged):
            await producer.flush()

    asyncio.run(scenario())


def test_a_stop_whose_last_records_are_not_acknowledged_is_not_clean(
    producer: Producer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streams.transport.producer.STOP_FLUSH_S", 0.2)

    async def scenario() -> None:
        producer.send_soon(record(1))
        await producer.on_stop()

    asyncio.run(scenario())
    assert not stopped_clean(producer)


def test_a_stop_with_every_record_acknowledged_is_clean(producer: Producer) -> None:
    async def scenario() -> None:
        fut = record(1)
        producer.send_soon(fut)
        fut.set_result(None)
        await producer.on_stop()

    asyncio.run(scenario())
    assert stopped_clean(producer)


def test_a_record_that_failed_just_before_the_flush_fails_it(producer: Producer) -> None:
    # Its done-callback has not run yet when the flush looks: the flush must see the failure.
    async def scenario() -> None:
        fut = record(1)
        producer.send_soon(fut)
        fut.set_exception(RuntimeError("broker refused"))
        with pytest.raises(ChangelogNotAcknowledged, match="broker refused"):
            await producer.flush()

    asyncio.run(scenario())


def test_flush_waits_for_every_barrier_after_its_own_records(producer: Producer) -> None:
    order: list[str] = []

    async def barrier() -> None:
        order.append("barrier")

    producer.also_flush(barrier)

    async def scenario() -> None:
        fut = record(1)
        producer.send_soon(fut)
        flushing = asyncio.ensure_future(producer.flush())
        await asyncio.sleep(0.1)
        assert order == []  # its own record is not acknowledged yet
        fut.set_result(None)
        order.append("acknowledged")
        await asyncio.wait_for(flushing, 1.0)

    asyncio.run(scenario())
    assert order == ["acknowledged", "barrier"]


def test_a_barrier_that_fails_fails_the_flush_and_a_clean_stop(producer: Producer) -> None:
    async def barrier() -> None:
        raise ChangelogNotAcknowledged("1 record not acknowledged: not leader")

    producer.also_flush(barrier)

    async def scenario() -> None:
        with pytest.raises(ChangelogNotAcknowledged, match="not leader"):
            await producer.flush()
        await producer.on_stop()

    asyncio.run(scenario())
    assert not stopped_clean(producer)
