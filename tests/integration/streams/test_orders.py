"""Orders and the reservation saga against the real broker: stock, views, duplicates, API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from schemas.catalogue import DEAD_LETTERS, ORDER_EVENTS, ORDER_VIEW, STOCK_MOVEMENTS
from schemas.codec import FastDecoder, FastEncoder
from schemas.samples import sample_event
from tests.integration.streams.test_stock import RECORD, latest_by_key, movement
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv, consume_all

pytestmark = pytest.mark.integration
PRICE = 500
Named = tuple[str, dict[str, Any]]


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """A unique id and the current time: tests share the module's topics."""
    event["envelope"] = {
        **event["envelope"],
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "sequence": None,
    }
    return event


def order_event(name: str, order_id: str, **fields: Any) -> dict[str, Any]:
    event = sample_event(f"omni.order.{name}", 1)
    event.update({"order_id": order_id, **fields})
    return fresh(event)


def placed(
    order_id: str, location: str, *lines: tuple[str, int], fulfilment: str = "pickup_in_store"
) -> dict[str, Any]:
    return order_event(
        "OrderPlaced",
        order_id,
        lines=[
            {"line_id": str(n), "sku": sku, "quantity": qty, "unit_price_minor": PRICE}
            for n, (sku, qty) in enumerate(lines, 1)
        ],
        fulfilment=fulfilment,
        location_id=location,
        currency="EUR",
        total_minor=sum(qty for _, qty in lines) * PRICE,
    )


def ids(n: int) -> list[str]:
    return [f"{uuid.uuid4().hex[:8]}-{i}" for i in range(n)]


@pytest.fixture(scope="module")
def worker(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    data = tmp_path_factory.mktemp("orders-worker")
    env = worker_env(contract_env.settings, f"omni-test-{uuid.uuid4().hex[:8]}", data)
    process = WorkerProcess(env, "w1", data / "w1.log")
    process.start()
    yield process
    process.stop()


class Send:
    """Encodes and produces order events and stock movements, flushing each call."""

    def __init__(self, env: ContractEnv) -> None:
        self.encoder = FastEncoder(env.client, env.schema_set)
        self.producer = env.producer()
        self.orders = ORDER_EVENTS.physical(env.prefix)
        self.movements = STOCK_MOVEMENTS.physical(env.prefix)

    def order(self, *events: Named) -> None:
        for name, event in events:
            value = self.encoder.encode(self.orders, f"omni.order.{name}", event)
            self.producer.produce(self.orders, value, key=event["order_id"])
        assert self.producer.flush(30) == 0

    def stock(self, sku: str, location: str, qty: int) -> None:
        event = fresh(movement(0, sku, location, "received", qty))
        self.producer.produce(
            self.movements, self.encoder.encode(self.movements, RECORD, event), key=sku
        )
        assert self.producer.flush(30) == 0


def named(name: str, event: dict[str, Any]) -> Named:
    return name, event


def wait_for(probe: Callable[[], Any], want: Callable[[Any], bool], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    got = probe()
    while not want(got) and time.monotonic() < deadline:
        time.sleep(0.3)
        got = probe()
    return got


def level(worker: WorkerProcess, sku: str, location: str) -> tuple[int, int, int] | None:
    """(on hand, reserved, available) from the stock API; None while unknown."""
    answer = httpx.get(f"{worker.url}/v1/stock/{sku}/{location}", timeout=10)
    if answer.status_code != 200:
        return None
    body = answer.json()
    return body["on_hand"], body["reserved"], body["available"]


def status(worker: WorkerProcess, order_id: str) -> str | None:
    answer = httpx.get(f"{worker.url}/v1/orders/{order_id}", timeout=10)
    return str(answer.json()["status"]) if answer.status_code == 200 else None


def saga_movements(env: ContractEnv, sku: str, count: int) -> list[dict[str, Any]]:
    """The movements of ``sku``, in partition order (what stock applied)."""
    decoder = FastDecoder(env.client, env.schema_set)
    consumer = env.consumer(STOCK_MOVEMENTS.physical(env.prefix))
    found = [m for m in consume_all(consumer, 10_000, timeout_s=8) if m.key() == sku.encode()]
    assert len(found) == count, [decoder.decode(m.value()).value for m in found]
    return [decoder.decode(m.value()).value for m in found]


def test_pickup_reserves_then_sells_and_cancellation_releases(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    send = Send(contract_env)
    sku, (kept, dropped) = f"SKU-{uuid.uuid4().hex[:6]}", ids(2)
    send.stock(sku, "STORE-1", 5)
    assert wait_for(lambda: level(worker, sku, "STORE-1"), lambda v: v == (5, 0, 5)) == (5, 0, 5)

    send.order(named("OrderPlaced", placed(kept, "STORE-1", (sku, 2))))
    assert wait_for(lambda: level(worker, sku, "STORE-1"), lambda v: v == (5, 2, 3)) == (5, 2, 3)
    assert status(worker, kept) == "placed"
    send.order(named("OrderPickedUp", order_event("OrderPickedUp", kept, location_id="STORE-1")))
    assert wait_for(lambda: level(worker, sku, "STORE-1"), lambda v: v == (3, 0, 3)) == (3, 0, 3)
    assert wait_for(lambda: status(worker, kept), lambda s: s == "picked_up") == "picked_up"

    send.order(named("OrderPlaced", placed(dropped, "STORE-1", (sku, 1))))
    assert wait_for(lambda: level(worker, sku, "STORE-1"), lambda v: v == (3, 1, 2)) == (3, 1, 2)
    send.order(named("OrderCancelled", order_event("OrderCancelled", dropped, reason="customer")))
    assert wait_for(lambda: level(worker, sku, "STORE-1"), lambda v: v == (3, 0, 3)) == (3, 0, 3)
    assert wait_for(lambda: status(worker, dropped), lambda s: s == "cancelled") == "cancelled"


def test_two_orders_for_the_last_unit_one_is_rejected_never_oversold(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    send = Send(contract_env)
    sku, orders = f"SKU-{uuid.uuid4().hex[:6]}", ids(2)
    send.stock(sku, "STORE-2", 1)
    assert wait_for(lambda: level(worker, sku, "STORE-2"), lambda v: v == (1, 0, 1)) == (1, 0, 1)
    send.order(*(named("OrderPlaced", placed(o, "STORE-2", (sku, 1))) for o in orders))

    def statuses() -> list[str]:
        return sorted(status(worker, o) or "" for o in orders)

    assert wait_for(statuses, lambda s: s == ["placed", "rejected"]) == ["placed", "rejected"]
    time.sleep(2)  # a wrong compensation would release the winner's unit now
    assert level(worker, sku, "STORE-2") == (1, 1, 0)
    views = latest_by_key(contract_env, ORDER_VIEW.physical(contract_env.prefix), set(orders))
    loser = next(v for v in views.values() if v["status"] == "rejected")
    assert "insufficient_stock" in (loser["history"][-1]["reason"] or "")


def test_a_partly_refused_order_is_rejected_and_its_confirmed_lines_released(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    send = Send(contract_env)
    plenty, scarce = f"SKU-{uuid.uuid4().hex[:6]}", f"SKU-{uuid.uuid4().hex[:6]}"
    (order_id,) = ids(1)
    send.stock(plenty, "STORE-3", 5)
    assert wait_for(lambda: level(worker, plenty, "STORE-3"), lambda v: v == (5, 0, 5))
    send.order(named("OrderPlaced", placed(order_id, "STORE-3", (plenty, 2), (scarce, 1))))
    assert wait_for(lambda: status(worker, order_id), lambda s: s == "rejected") == "rejected"
    got = wait_for(lambda: level(worker, plenty, "STORE-3"), lambda v: v == (5, 0, 5))
    assert got == (5, 0, 5)
    moves = saga_movements(contract_env, plenty, 3)
    assert [(m["kind"], m["quantity"], m["reference"]) for m in moves] == [
        ("received", 5, moves[0]["reference"]),
        ("reserved", 2, order_id),
        ("released", 2, order_id),
    ]
    assert moves[1]["envelope"]["event_id"] != moves[2]["envelope"]["event_id"]


def test_every_order_event_sent_twice_gives_the_views_of_sending_once(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    send = Send(contract_env)
    once, twice = ids(2)
    skus = {once: f"SKU-{uuid.uuid4().hex[:6]}", twice: f"SKU-{uuid.uuid4().hex[:6]}"}
    for sku in skus.values():
        send.stock(sku, "STORE-4", 5)
    at = datetime.now(UTC)

    def lifecycle(order_id: str) -> list[Named]:
        events = [
            named("OrderPlaced", placed(order_id, "STORE-4", (skus[order_id], 2))),
            named("OrderPaid", order_event("OrderPaid", order_id, amount_minor=2 * PRICE)),
            named(
                "OrderReadyForPickup",
                order_event("OrderReadyForPickup", order_id, location_id="STORE-4"),
            ),
        ]
        for n, (_, event) in enumerate(events):
            event["envelope"]["occurred_at"] = at.replace(microsecond=n * 1000)
        return events

    send.order(*lifecycle(once))
    events = lifecycle(twice)
    send.order(*events, *events)
    topic = ORDER_VIEW.physical(contract_env.prefix)

    def views() -> dict[str, dict[str, Any]]:
        return latest_by_key(contract_env, topic, {once, twice}, 20)

    got = wait_for(
        views,
        lambda v: all(v.get(o, {}).get("status") == "ready_for_pickup" for o in (once, twice)),
    )
    time.sleep(2)
    got = views()
    strip = {"order_id", "lines", "placed_at", "updated_at"}
    same = [{k: v for k, v in got[o].items() if k not in strip} for o in (once, twice)]
    assert same[0] == same[1]
    assert got[twice]["version"] == 3
    reserved = [level(worker, skus[o], "STORE-4") for o in (once, twice)]
    assert reserved == [(5, 2, 3), (5, 2, 3)]


def test_a_corrupt_order_record_goes_to_the_dead_letters_and_neighbours_are_processed(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    send = Send(contract_env)
    (order_id,) = ids(1)
    topic = ORDER_EVENTS.physical(contract_env.prefix)
    corrupt = b"\x00\x00\x00\x00\x01garbage"
    zero = placed(f"{order_id}-zero", "STORE-5", ("SKU-Z", 0))
    bad = send.encoder.encode(topic, "omni.order.OrderPlaced", zero)
    send.order(named("OrderPlaced", placed(order_id, "", ("SKU-S", 1), fulfilment="ship")))
    send.producer.produce(topic, corrupt, key=order_id)
    send.producer.produce(topic, bad, key=order_id)
    send.order(named("OrderPaid", order_event("OrderPaid", order_id, amount_minor=0)))

    assert wait_for(lambda: status(worker, order_id), lambda s: s == "paid") == "paid"
    dlq = DEAD_LETTERS.physical(contract_env.prefix)
    letters = [
        m
        for m in consume_all(contract_env.consumer(dlq), 99, timeout_s=15)
        if m.key() == order_id.encode()
    ]
    assert sorted(m.value() for m in letters) == sorted([corrupt, bad])
    for letter in letters:
        headers = dict(letter.headers())
        assert headers["omni.source.topic"].decode() == topic
        assert int(headers["omni.source.offset"]) >= 0
        assert headers["omni.error.message"]
    reasons = {dict(m.headers())["omni.error.reason"].decode() for m in letters}
    assert "invalid:bad_quantity" in reasons


def test_order_api_answers_200_404_and_400(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    send = Send(contract_env)
    (order_id,) = ids(1)
    send.order(named("OrderPlaced", placed(order_id, "STORE-6", ("SKU-API", 1))))
    assert wait_for(lambda: status(worker, order_id), lambda s: s is not None)
    found = httpx.get(f"{worker.url}/v1/orders/{order_id}", timeout=10)
    assert found.status_code == 200
    body = found.json()
    assert (body["order_id"], body["fulfilment"], body["total_minor"]) == (
        order_id,
        "pickup_in_store",
        PRICE,
    )
    missing = httpx.get(f"{worker.url}/v1/orders/ORD-NOPE-{uuid.uuid4().hex[:6]}", timeout=10)
    assert missing.status_code == 404
    assert "no order known" in missing.json()["error"]
    bad = httpx.get(f"{worker.url}/v1/orders/%20bad%20id", timeout=10)
    assert bad.status_code == 400
    assert "malformed" in bad.json()["error"]
    metrics = httpx.get(f"{worker.url}/metrics", timeout=10).text
    assert 'omni_views_emitted_total{view="orders"}' in metrics
