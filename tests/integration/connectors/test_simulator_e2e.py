"""End to end: simulated journeys, through the connectors, become the processors' views.

Every customer who placed a pickup-in-store order finds it in their context,
read through the query API by the hash of the e-mail they logged in with
(the order itself only knows the customer id), and every simulated SKU has
stock at every store the ERP counted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from connectors.simulator import build, plan, simulate
from schemas.catalogue import DEAD_LETTERS
from tests.integration.connectors.kafka_reader import read_events
from tests.integration.connectors.simulator_support import simulator_settings, source_connectors
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

SEED, CUSTOMERS = 77, 8


@pytest.fixture(scope="module")
def worker(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    data = tmp_path_factory.mktemp("sim-worker")
    env = worker_env(contract_env.settings, f"omni-sim-{uuid.uuid4().hex[:8]}", data)
    process = WorkerProcess(env, "w1", data / "w1.log")
    process.start()
    yield process
    process.stop()
    assert "Traceback" not in process.log.read_text(errors="replace"), process.tail()


def get(worker: WorkerProcess, path: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{worker.url}{path}", timeout=10)
    return answer.json() if answer.status_code == 200 else None


def waiting(probe: Callable[[], list[str]], timeout_s: float) -> list[str]:
    """Poll until ``probe`` reports nothing missing; what is still missing otherwise."""
    deadline = time.monotonic() + timeout_s
    missing = probe()
    while missing and time.monotonic() < deadline:
        time.sleep(1)
        missing = probe()
    return missing


def test_simulated_journeys_reach_the_customer_context_and_stock_views(
    contract_env: ContractEnv, worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = build(SEED, CUSTOMERS)
    the_plan = plan(world)
    email_of = {c.customer_id: c.email_sha256 for c in world.customers}
    pickups = the_plan.pickup_orders()
    assert pickups, "the seed should place at least one pickup order"

    with source_connectors(contract_env.settings, tmp_path_factory.mktemp("logs")) as sources:
        settings = simulator_settings(contract_env.settings, sources)
        summary = asyncio.run(simulate(settings, CUSTOMERS, 0, 0, SEED, progress=False))
    assert summary.finished, summary.errors

    def orders_missing() -> list[str]:
        missing = []
        for order_id, customer_id in pickups.items():
            context = get(worker, f"/v1/customers/{email_of[customer_id]}/context") or {}
            listed = context.get("open_orders", []) + context.get("recent_orders", [])
            if order_id not in {order["order_id"] for order in listed}:
                missing.append(order_id)
        return missing

    def stock_missing() -> list[str]:
        missing = []
        for sku in world.skus:
            total = get(worker, f"/v1/stock/{sku}")
            located = {level["location_id"] for level in (total or {}).get("locations", [])}
            if not set(world.stores) <= located:
                missing.append(sku)
        return missing

    assert waiting(orders_missing, 60) == [], worker.tail()
    assert waiting(stock_missing, 20) == [], worker.tail()
    picked = get(worker, f"/v1/orders/{next(iter(pickups))}")
    assert picked is not None
    assert picked["status"] in ("picked_up", "returned")
    dead = read_events(
        contract_env,
        lambda _: True,
        1,
        timeout_s=3,
        topics=[DEAD_LETTERS.physical(contract_env.prefix)],
    )
    assert [(d.headers, d.raw[:200]) for d in dead] == []  # every journey was valid end to end
