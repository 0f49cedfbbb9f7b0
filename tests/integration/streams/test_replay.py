"""A replay of a whole topic segment (consumer group reset to the start) applies nothing twice.

A hot SKU gets more movements than the per-key window of event ids
(``SEEN_BOUND``), so only the per-partition offset watermark can tell the
replayed records from new ones.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.catalogue import STOCK_MOVEMENTS
from schemas.codec import FastEncoder
from streams.common.idempotency import SEEN_BOUND
from tests.integration.streams.test_stock import RECORD, movement
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration


def on_hand(worker: WorkerProcess, sku: str) -> int | None:
    answer = httpx.get(f"{worker.url}/v1/stock/{sku}/STORE-1", timeout=10)
    if answer.status_code in (404, 503):
        return None
    assert answer.status_code == 200, answer.text
    return int(answer.json()["on_hand"])


def wait_on_hand(worker: WorkerProcess, sku: str, value: int, timeout_s: float = 90) -> int | None:
    deadline, seen = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        seen = on_hand(worker, sku)
        if seen == value:
            return seen
        time.sleep(0.5)
    return seen


def replayed(worker: WorkerProcess, topic: str) -> float:
    total = 0.0
    for line in httpx.get(f"{worker.url}/metrics", timeout=10).text.splitlines():
        mine = line.startswith("omni_events_processed_total") and f'topic="{topic}"' in line
        if mine and 'outcome="replayed"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_group_reset_to_the_start_replays_nothing(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    count = SEEN_BOUND + 300
    events = [movement(900_000 + n, sku, "STORE-1", "received", 1) for n in range(count)]
    app_id = f"omni-test-{uuid.uuid4().hex[:8]}"
    env = worker_env(contract_env.settings, app_id, tmp_path / "data")
    worker = WorkerProcess(env, "w1", tmp_path / "w1.log")
    topic = STOCK_MOVEMENTS.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    for event in events:
        producer.produce(topic, encoder.encode(topic, RECORD, event), key=event["sku"])
    assert producer.flush(30) == 0
    worker.start()
    try:
        assert wait_on_hand(worker, sku, count) == count
        time.sleep(3)  # let Faust commit the offsets, so the reset below is a real rewind
        worker.stop()

        admin = AdminClient({"bootstrap.servers": contract_env.settings.kafka.bootstrap_servers})
        partitions = contract_env.settings.topics.partitions_override or STOCK_MOVEMENTS.partitions
        rewind = [TopicPartition(topic, p, 0) for p in range(partitions)]
        futures = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(app_id, rewind)])
        for future in futures.values():
            future.result(timeout=30)

        worker.start()
        extra = movement(990_000, sku, "STORE-1", "received", 1)
        producer.produce(topic, encoder.encode(topic, RECORD, extra), key=sku)
        assert producer.flush(30) == 0
        assert wait_on_hand(worker, sku, count + 1) == count + 1
        time.sleep(2)
        assert on_hand(worker, sku) == count + 1  # nothing of the replay was applied again
        assert replayed(worker, topic) >= count  # skipped by the watermark, not by event ids
    finally:
        worker.stop()
