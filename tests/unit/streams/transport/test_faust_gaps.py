"""Why the driver keeps its own ledger: Faust's gap tracking, fed batch messages.

These drive faust-streaming's own ``Consumer._add_gap`` and ``_new_offset``
the way ``Consumer._drain_messages`` does for a message whose offset jumps past
the previous one (which every batch message does). If a Faust upgrade makes
them fail, Faust changed this bookkeeping and the driver's overrides of
``_new_offset`` and ``_add_gap`` need another look.
"""

from __future__ import annotations

import asyncio

import faust
import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP as FaustTP

TP = FaustTP("src", 0)


@pytest.fixture
def consumer() -> FaustConsumer:
    app = faust.App("gaps-unit", broker="kafka://127.0.0.1:1", store="memory://")
    return app.consumer


def deliver(consumer: FaustConsumer, last: int) -> None:
    """What ``_drain_messages`` does with a message at offset ``last``, then its ack."""
    read = consumer._read_offset[TP]
    if read is not None and read and last - read > 1:
        asyncio.run(FaustConsumer._add_gap(consumer, TP, read + 1, last))
    consumer._read_offset[TP] = last
    consumer._acked[TP].append(last)


def commit(consumer: FaustConsumer) -> int | None:
    offset = FaustConsumer._new_offset(consumer, TP)
    if offset is not None and FaustConsumer._should_commit(consumer, TP, offset):
        consumer._committed_offset[TP] = offset
        return offset
    return None


def test_after_a_batch_ending_at_offset_zero_faust_never_commits_again(
    consumer: FaustConsumer,
) -> None:
    deliver(consumer, 0)  # a batch of one record at offset 0
    assert commit(consumer) == 1
    for last in (99, 199, 299):
        deliver(consumer, last)
        assert commit(consumer) is None, "Faust added no gap after read offset 0"


def test_faust_acks_a_batch_end_twice_so_commits_trail_a_batch(consumer: FaustConsumer) -> None:
    commits = []
    for last in (99, 199, 299, 399, 499):
        deliver(consumer, last)
        commits.append(commit(consumer))
    # Every batch was acked before each commit; one that keeps up would say 100 ... 500.
    assert commits == [100, 200, None, 300, 400]
