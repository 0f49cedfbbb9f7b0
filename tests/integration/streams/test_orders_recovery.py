"""The reservation saga survives ``kill -9``: no unit reserved twice, no answer lost."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.streams.test_orders import Send, level, named, placed, wait_for
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration
STOCK_PER_SKU = 3


def statuses(worker: WorkerProcess, order_ids: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for order_id in order_ids:
        answer = httpx.get(f"{worker.url}/v1/orders/{order_id}", timeout=10)
        out[order_id] = answer.json()["status"] if answer.status_code == 200 else None
    return out


def test_kill_9_mid_saga_never_double_reserves_and_answers_every_order(
    contract_env: ContractEnv, tmp_path: Path
) -> None:
    send = Send(contract_env)
    skus = [f"SKU-{uuid.uuid4().hex[:6]}" for _ in range(8)]
    rng = random.Random(11)
    orders = {f"ORD-{uuid.uuid4().hex[:8]}": rng.choice(skus) for _ in range(60)}
    env = worker_env(contract_env.settings, f"omni-test-{uuid.uuid4().hex[:8]}", tmp_path / "data")
    worker = WorkerProcess(env, "w1", tmp_path / "w1.log")
    worker.start()
    try:
        for sku in skus:
            send.stock(sku, "STORE-R", STOCK_PER_SKU)
        full = [(STOCK_PER_SKU, 0, STOCK_PER_SKU)] * len(skus)

        def stocked() -> list[tuple[int, int, int] | None]:
            return [level(worker, sku, "STORE-R") for sku in skus]

        assert wait_for(stocked, lambda got: got == full) == full
        placed_events = [
            named("OrderPlaced", placed(o, "STORE-R", (s, 1))) for o, s in orders.items()
        ]
        send.order(*placed_events[:30])
        time.sleep(0.5)
        worker.kill()  # mid-saga: movements sent, answers maybe not, offsets maybe not committed
        send.order(*placed_events[30:], *placed_events[:10])  # and a producer retry
        worker.start()

        def settled() -> bool:
            got = statuses(worker, list(orders))
            per_sku = {s: 0 for s in skus}
            for order_id, sku in orders.items():
                per_sku[sku] += got[order_id] == "placed"
            if any(s not in ("placed", "rejected") for s in got.values()):
                return False
            return all(
                level(worker, sku, "STORE-R") == (STOCK_PER_SKU, n, STOCK_PER_SKU - n)
                for sku, n in per_sku.items()
            )

        assert wait_for(settled, bool, timeout_s=75), worker.tail()
        for sku in skus:
            wanted = sum(1 for s in orders.values() if s == sku)
            on_hand, reserved, _ = level(worker, sku, "STORE-R") or (0, 0, 0)
            assert reserved == min(wanted, STOCK_PER_SKU), sku
            assert on_hand == STOCK_PER_SKU
    finally:
        worker.stop()
