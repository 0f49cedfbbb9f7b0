"""The bulk restore writes Faust's own store layout: a worker serves from it as it is."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas.catalogue import STOCK_MOVEMENTS
from schemas.codec import FastEncoder
from schemas.settings import Settings
from streams.app import create_app
from streams.restore import restore
from tests.integration.streams.test_stock import RECORD, reference
from tests.integration.streams.test_stock_recovery import wait_converged, workload
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration


def settings_for(base: Settings, app_id: str, data_dir: Path) -> Settings:
    streams = base.streams.model_copy(
        update={"app_id": app_id, "data_dir": data_dir, "worker_name": "w1"}
    )
    return base.model_copy(update={"streams": streams})


def changelog_records(settings: Settings) -> int:
    """Records in the app's changelogs (none is compacted away this soon)."""
    app = create_app(settings)
    consumer = Consumer({**settings.kafka.as_librdkafka_dict(), "group.id": "unused"})
    try:
        total = 0
        for table in app.tables.values():
            topic = table.changelog_topic.get_topic_name()
            for partition in range(int(table.partitions or 0)):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
                total += high - low
        return total
    finally:
        consumer.close()


def test_bulk_restore_is_incremental_and_a_worker_serves_from_it(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    app_id = f"omni-test-{uuid.uuid4().hex[:8]}"
    skus = [f"SKU-{uuid.uuid4().hex[:6]}" for _ in range(12)]
    events = workload(11, skus, 1500)
    worker = WorkerProcess(
        worker_env(contract_env.settings, app_id, tmp_path / "first"), "w1", tmp_path / "w1.log"
    )
    worker.start()
    topic = STOCK_MOVEMENTS.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    try:
        for event in events:
            producer.produce(topic, encoder.encode(topic, RECORD, event), key=event["sku"])
        assert producer.flush(30) == 0
        expected = reference(events)
        assert wait_converged(worker, expected) == []
    finally:
        worker.stop()

    fresh = settings_for(contract_env.settings, app_id, tmp_path / "fresh")
    written = changelog_records(fresh)
    first = restore(create_app(fresh), fresh)
    assert first.records == written > 0
    again = restore(create_app(fresh), fresh)
    assert again.records == 0, "a second restore must start from the stored offsets"

    # No bulk restore in this worker: Faust finds the stored offsets and reads only what
    # follows them (nothing), so what it serves is what the bulk restore wrote.
    env = worker_env(contract_env.settings, app_id, tmp_path / "fresh")
    env["OMNI_STREAMS__BULK_RESTORE"] = "false"
    served = WorkerProcess(env, "w1", tmp_path / "served.log")
    served.start()
    try:
        assert wait_converged(served, expected) == []
    finally:
        served.stop()
