"""The ``take`` delivery mode (``OMNI_STREAMS__BATCHING=take``) against the real broker.

The batching transport is the default; ``take`` groups Faust's own per-record
events instead. Both write tables through :mod:`streams.changelog` and must
come to the same state, with every write in its changelog at a clean stop.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from schemas.catalogue import STOCK_MOVEMENTS
from schemas.codec import FastEncoder
from streams.stock import tables as stock_tables
from tests.integration.streams.test_stock import RECORD, reference
from tests.integration.streams.test_stock_recovery import (
    changelog_ends,
    persisted_offsets,
    wait_converged,
    workload,
)
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration


def test_take_mode_applies_each_movement_once_and_logs_every_write(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    skus = [f"SKU-{uuid.uuid4().hex[:6]}" for _ in range(8)]
    events = workload(11, skus, 600)
    sent = events + random.Random(12).sample(events, 60)  # producer retries
    app_id = f"omni-test-{uuid.uuid4().hex[:8]}"
    env = worker_env(contract_env.settings, app_id, tmp_path / "data")
    env["OMNI_STREAMS__BATCHING"] = "take"
    worker = WorkerProcess(env, "w1", tmp_path / "w1.log")
    worker.start()
    topic = STOCK_MOVEMENTS.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    try:
        for event in sent:
            producer.produce(topic, encoder.encode(topic, RECORD, event), key=event["sku"])
        assert producer.flush(30) == 0
        assert wait_converged(worker, reference(sent)) == []
        worker.stop()
        changelog = f"{app_id}-{stock_tables.TABLE_NAME}-changelog"
        ends = changelog_ends(contract_env, changelog)
        assert ends, "nothing was written to the changelog"
        assert persisted_offsets(tmp_path / "data", stock_tables.TABLE_NAME) == ends
    finally:
        worker.stop()
