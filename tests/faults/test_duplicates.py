"""Row 6: every event sent three times, a worker restart among them, then a segment replayed.

Producer retries and connector replays deliver an event more than once:
each one goes out again at once and once more a little later, with a worker
restart in the middle. Then the processors' consumer group is reset back to
where it was mid-stream (every source topic replays that segment) and a
segment of events is produced again. Stock and carts must apply each event
once: double counts = 0.
"""

from __future__ import annotations

import random
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

from schemas import admin as topic_admin
from tests.faults.conftest import FaultConfig
from tests.faults.pump import Sendable
from tests.faults.report import Row
from tests.faults.scenario import FaultRun
from tests.integration.support import ContractEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
SHARE = 0.1
RATE = 2_000.0
COPIES = 3
SEGMENT = 0.2  # share of the events produced once more at the end


def tripled(items: list[Sendable], rng: random.Random) -> list[Sendable]:
    """Each record, a copy right behind it (a retry), and one more 20-400 records later."""
    placed: list[tuple[float, int, Sendable]] = []
    for n, item in enumerate(items):
        placed += [(n, 0, item), (n + 0.5, 1, item)]
        placed += [(n + rng.randint(20, 400), 2, item)] * (COPIES - 2)
    return [item for _, _, item in sorted(placed, key=lambda p: (p[0], p[1]))]


def group_offsets(run: FaultRun) -> list[TopicPartition]:
    """The processors' committed offsets now (their consumer group is the app id)."""
    admin = topic_admin.make_admin(run.env.settings.kafka)
    request = [ConsumerGroupTopicPartitions(run.app_id)]
    try:
        result = admin.list_consumer_group_offsets(request)[run.app_id].result(timeout=30)
    except KafkaException as exc:
        raise AssertionError(f"cannot read the offsets of {run.app_id}: {exc}") from exc
    return [tp for tp in result.topic_partitions or [] if tp.offset >= 0]


def reset_group(run: FaultRun, offsets: list[TopicPartition]) -> int:
    """Move the (stopped) processors back to ``offsets``; returns how many records replay."""
    admin = topic_admin.make_admin(run.env.settings.kafka)
    now = {(tp.topic, tp.partition): tp.offset for tp in group_offsets(run)}
    request = [ConsumerGroupTopicPartitions(run.app_id, offsets)]
    try:
        admin.alter_consumer_group_offsets(request)[run.app_id].result(timeout=30)
    except KafkaException as exc:
        raise AssertionError(f"cannot reset the offsets of {run.app_id}: {exc}") from exc
    return sum(now.get((tp.topic, tp.partition), tp.offset) - tp.offset for tp in offsets)


def test_triple_sends_restart_and_segment_replay(
    fault_env: ContractEnv,
    fault_config: FaultConfig,
    fault_report: Callable[[Row], None],
    tmp_path: Path,
) -> None:
    row = Row("6 duplicates x3 + replays", fault_config.seed)
    fault_report(row)
    run = FaultRun(fault_env, tmp_path, row)
    try:
        run.fleet.start("w1")
        workload = run.workload(max(int(fault_config.events * SHARE), 2_000))
        run.seed_stock(workload)
        items = run.encode(workload.events)
        rng = random.Random(fault_config.seed + 7)
        pump = run.pump(tripled(items, rng), RATE)
        pump.wait_sent(len(pump.items) * 2 // 5)
        snapshot = group_offsets(run)
        run.note(f"group offsets noted at {pump.sent} sent ({len(snapshot)} partitions)")
        pump.wait_sent(len(pump.items) // 2)
        run.fleet.stop("w1", signal.SIGTERM)
        run.fleet.start("w1")
        run.note(f"w1 restarted (SIGTERM) at {pump.sent} sent")
        run.settle(workload, [pump])
        run.fleet.stop("w1", signal.SIGTERM)
        replayed = reset_group(run, snapshot)
        run.note(f"group reset back to the noted offsets: {replayed} records to replay")
        start = rng.randrange(0, int(len(items) * (1 - SEGMENT)))
        segment = items[start : start + int(len(items) * SEGMENT)]
        again = run.pump(segment, RATE)
        run.note(f"re-producing events {start}..{start + len(segment)}")
        run.fleet.start("w1")
        run.verify(workload, [pump, again])
        row.figure = (
            f"{COPIES}x sends, {replayed} records replayed, {len(segment)} re-sent; "
            f"double {row.doubled}"
        )
    finally:
        run.close()
    assert run.clean(), "\n".join(row.problems)
