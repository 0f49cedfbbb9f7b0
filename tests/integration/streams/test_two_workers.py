"""Two workers share the partitions; either one answers for every key."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from schemas.catalogue import STOCK_MOVEMENTS
from schemas.codec import FastEncoder
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


def test_any_worker_answers_any_key(contract_env: ContractEnv, tmp_path: Path) -> None:
    app_id = f"omni-test-{uuid.uuid4().hex[:8]}"
    workers = [
        WorkerProcess(
            worker_env(contract_env.settings, app_id, tmp_path / "data"),
            f"w{n}",
            tmp_path / f"w{n}.log",
        )
        for n in (1, 2)
    ]
    try:
        for worker in workers:
            worker.start()
        skus = {f"SKU-{uuid.uuid4().hex[:6]}": n + 1 for n in range(24)}
        topic = STOCK_MOVEMENTS.physical(contract_env.prefix)
        encoder = FastEncoder(contract_env.client, contract_env.schema_set)
        producer = contract_env.producer()
        for seed, (sku, qty) in enumerate(skus.items()):
            event = movement(50_000 + seed, sku, "STORE-1", "received", qty)
            producer.produce(topic, encoder.encode(topic, RECORD, event), key=sku)
        assert producer.flush(30) == 0

        deadline = time.monotonic() + 90
        wrong: dict[tuple[str, str], int | None] = {}
        while time.monotonic() < deadline:
            wrong = {
                (worker.name, sku): got
                for worker in workers
                for sku, qty in skus.items()
                if (got := on_hand(worker, sku)) != qty
            }
            if not wrong:
                break
            time.sleep(1)
        assert wrong == {}
        logs = "\n".join(w.log.read_text(errors="replace") for w in workers)
        assert "Traceback" not in logs
    finally:
        for worker in workers:
            worker.stop()
