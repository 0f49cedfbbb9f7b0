"""Stock state survives ``kill -9`` and the loss of local RocksDB state."""

from __future__ import annotations

import random
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import rocksdict
from confluent_kafka import TopicPartition
from faust.stores.rocksdb import Store

from schemas.catalogue import STOCK_MOVEMENTS
from schemas.codec import FastEncoder
from streams import cleanstop
from streams.stock import model
from streams.stock import tables as stock_tables
from tests.integration.streams.test_stock import RECORD, movement, reference
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration
KINDS = ("received", "received", "sold", "reserved", "released", "adjusted")


def workload(seed: int, skus: list[str], count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for n in range(count):
        kind = rng.choice(KINDS)
        qty = rng.randint(-3, 3) or 1 if kind == "adjusted" else rng.randint(1, 5)
        events.append(
            movement(seed * 100_000 + n, rng.choice(skus), f"STORE-{rng.randint(1, 3)}", kind, qty)
        )
    return events


def api_state(worker: WorkerProcess, sku: str) -> dict[str, tuple[int, int]] | None:
    """The SKU's levels as the API serves them; None while the worker recovers (503)."""
    answer = httpx.get(f"{worker.url}/v1/stock/{sku}", timeout=10)
    if answer.status_code == 503:
        return None
    if answer.status_code == 404:
        return {}
    assert answer.status_code == 200, answer.text
    return {lv["location_id"]: (lv["on_hand"], lv["reserved"]) for lv in answer.json()["locations"]}


def expected_state(stock: model.Stock) -> dict[str, tuple[int, int]]:
    return {loc: (lv.on_hand, lv.reserved) for loc, lv in stock.levels.items()}


def wait_converged(
    worker: WorkerProcess, expected: dict[str, model.Stock], timeout_s: float = 90
) -> list[str]:
    deadline = time.monotonic() + timeout_s
    differing = list(expected)
    while differing and time.monotonic() < deadline:
        differing = [
            sku for sku in differing if api_state(worker, sku) != expected_state(expected[sku])
        ]
        if differing:
            time.sleep(0.5)
    return differing


def marks(data: Path) -> list[Path]:
    """The running marks of the workers under ``data`` (see :mod:`streams.cleanstop`)."""
    return list(data.glob(f"*/{cleanstop.MARK}"))


def persisted_offsets(data: Path, table: str) -> dict[int, int]:
    """Each partition's last changelog offset its store says is applied (Faust's offset key)."""
    offsets = {}
    for path in data.glob(f"**/{table}-*.db"):
        db = rocksdict.Rdict(
            str(path),
            options=rocksdict.Options(raw_mode=True),
            access_type=rocksdict.AccessType.read_only(),
        )
        try:
            value = db.get(Store.offset_key)
        finally:
            db.close()
        if value is not None:
            offsets[int(path.name.removesuffix(".db").rsplit("-", 1)[1])] = int(value)
    return offsets


def changelog_ends(contract_env: ContractEnv, topic: str) -> dict[int, int]:
    """The last offset of each non-empty partition of ``topic``."""
    consumer = contract_env.consumer(topic)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            for p in partitions
        }
    finally:
        consumer.close()
    return {p: high - 1 for p, (low, high) in ends.items() if high > low}


def test_kill_9_then_restart_then_lost_state(contract_env: ContractEnv, tmp_path: Path) -> None:
    skus = [f"SKU-{uuid.uuid4().hex[:6]}" for _ in range(20)]
    events = workload(7, skus, 3000)
    sent = events + random.Random(8).sample(events, 300)  # producer retries
    app_id = f"omni-test-{uuid.uuid4().hex[:8]}"
    env = worker_env(contract_env.settings, app_id, tmp_path / "data")
    worker = WorkerProcess(env, "w1", tmp_path / "w1.log")
    worker.start()
    topic = STOCK_MOVEMENTS.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    try:
        half = len(sent) // 2
        for event in sent[:half]:
            producer.produce(topic, encoder.encode(topic, RECORD, event), key=event["sku"])
        assert producer.flush(30) == 0
        time.sleep(1.0)
        worker.kill()  # mid-stream: some batches processed, some not committed
        assert marks(tmp_path / "data"), "a killed worker leaves its running mark"
        for event in sent[half:]:
            producer.produce(topic, encoder.encode(topic, RECORD, event), key=event["sku"])
        assert producer.flush(30) == 0
        worker.start()
        # The store may be ahead of its changelog after kill -9: it is rebuilt from it.
        assert "did not stop cleanly" in worker.log.read_text(errors="replace")
        expected = reference(sent)
        assert wait_converged(worker, expected) == []

        worker.stop()
        assert marks(tmp_path / "data") == [], "a clean stop clears the running mark"
        # The changelog producer's acknowledged offsets reached the stores before the
        # stop: a restart's recovery reads on from there, not from the beginning.
        changelog = f"{app_id}-{stock_tables.TABLE_NAME}-changelog"
        ends = changelog_ends(contract_env, changelog)
        assert ends, "nothing was written to the changelog"
        assert persisted_offsets(tmp_path / "data", stock_tables.TABLE_NAME) == ends
        shutil.rmtree(tmp_path / "data")  # the worker's RocksDB is gone
        started = time.monotonic()
        worker.start()
        assert wait_converged(worker, expected) == []
        print(
            f"restored {len(expected)} SKUs from the changelog in {time.monotonic() - started:.1f}s"
        )
    finally:
        worker.stop()
