"""The seeds' journey end to end: laptop cart, app login, store stock, pickup order, chat, phone.

1. an anonymous laptop session adds to the cart;
2. an app login identifies the customer;
3. the cart is visible under the customer id through the API and on the cart view topic;
4. the store shows the item available;
5. a pickup-in-store order reserves it;
6. pickup decrements on hand;
7. a chat message arrives (the chat only knows the customer's phone);
8. the customer context, read by phone number alone, shows the order and the chat.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from schemas.catalogue import CART_VIEW
from tests.integration.streams.test_customers import event, ids, make_sender
from tests.integration.streams.test_customers import worker as worker
from tests.integration.streams.workers import WorkerProcess
from tests.integration.support import ContractEnv, consume_all

pytestmark = pytest.mark.integration


def eventually(probe: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """Poll until ``probe`` returns something truthy; its last answer otherwise."""
    deadline = time.monotonic() + timeout_s
    answer = probe()
    while not answer and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = probe()
    return answer


def get(worker: WorkerProcess, path: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{worker.url}{path}", timeout=10)
    return answer.json() if answer.status_code == 200 else None


def test_the_journey(contract_env: ContractEnv, worker: WorkerProcess) -> None:
    send = make_sender(contract_env)
    tag = uuid.uuid4().hex[:8]
    anon, customer, phone = f"anon-{tag}", f"C-{tag}", f"{tag}" * 8
    sku, store, order_id, case_id = f"SKU-{tag}", f"STORE-{tag}", f"O-{tag}", f"CASE-{tag}"
    laptop = ids(anonymous_id=anon)

    # 1. the laptop cart, and 4. the store's stock (the ERP feed)
    send(
        (
            "omni.cart.CartItemAdded",
            event(
                "omni.cart.CartItemAdded",
                1,
                laptop,
                sku=sku,
                quantity=1,
                unit_price_minor=4999,
                currency="EUR",
            ),
        ),
        (
            "omni.inventory.StockMovement",
            event(
                "omni.inventory.StockMovement",
                2,
                ids(),
                sku=sku,
                location_id=store,
                kind="received",
                quantity=3,
                to_location_id=None,
            ),
        ),
    )
    # 2. the app login; the account knows the phone
    send(
        (
            "omni.customer.CustomerIdentified",
            event(
                "omni.customer.CustomerIdentified",
                3,
                ids(customer_id=customer, anonymous_id=anon),
                customer_id=customer,
            ),
        ),
        (
            "omni.customer.IdentifiersLinked",
            event(
                "omni.customer.IdentifiersLinked",
                4,
                ids(customer_id=customer),
                reason="login",
                linked=ids(phone_sha256=phone),
            ),
        ),
    )
    # 3. the cart under the customer id, through the API and on the view topic
    cart = eventually(lambda: get(worker, f"/v1/carts/{customer}"))
    assert cart is not None
    assert [line["sku"] for line in cart["items"]] == [sku]
    views = consume_all(contract_env.consumer(CART_VIEW.physical(contract_env.prefix)), 99, 15)
    assert any(m.key() == customer.encode() and m.value() is not None for m in views)
    # 4. the store shows it available
    level = eventually(lambda: get(worker, f"/v1/stock/{sku}/{store}"))
    assert level is not None
    assert level["available"] == 3

    # 5. a pickup-in-store order reserves it
    line = {"line_id": "1", "sku": sku, "quantity": 1, "unit_price_minor": 4999}
    send(
        (
            "omni.order.OrderPlaced",
            event(
                "omni.order.OrderPlaced",
                5,
                ids(customer_id=customer),
                order_id=order_id,
                lines=[line],
                fulfilment="pickup_in_store",
                location_id=store,
                currency="EUR",
                total_minor=4999,
            ),
        )
    )
    reserved = eventually(
        lambda: (lv := get(worker, f"/v1/stock/{sku}/{store}")) and lv["reserved"] == 1 and lv
    )
    assert reserved
    assert (reserved["on_hand"], reserved["available"]) == (3, 2)

    # 6. pickup decrements on hand and releases the reservation
    send(
        (
            "omni.order.OrderPickedUp",
            event(
                "omni.order.OrderPickedUp",
                6,
                ids(customer_id=customer),
                order_id=order_id,
                location_id=store,
            ),
        )
    )
    picked = eventually(
        lambda: (lv := get(worker, f"/v1/stock/{sku}/{store}")) and lv["on_hand"] == 2 and lv
    )
    assert picked
    assert (picked["reserved"], picked["available"]) == (0, 2)

    # 7. a chat that only knows the phone
    chat = "The zip on the jacket I picked up is broken"
    send(
        (
            "omni.service.CaseOpened",
            event(
                "omni.service.CaseOpened",
                7,
                ids(phone_sha256=phone),
                case_id=case_id,
                subject="Broken zip",
            ),
        ),
        (
            "omni.service.CaseMessage",
            event(
                "omni.service.CaseMessage",
                8,
                ids(phone_sha256=phone),
                case_id=case_id,
                author="customer",
                medium="chat",
                body=chat,
            ),
        ),
    )

    # 8. the context, read by phone alone, shows the order and the chat
    def complete() -> dict[str, Any] | None:
        ctx = get(worker, f"/v1/customers/{phone}/context")
        if not ctx:
            return None
        orders = {o["order_id"] for o in ctx["open_orders"] + ctx["recent_orders"]}
        cases = {c["case_id"]: c for c in ctx["open_cases"]}
        return (
            ctx
            if order_id in orders and case_id in cases and cases[case_id]["last_message"]
            else None
        )

    ctx = eventually(complete, 90)
    assert ctx is not None, get(worker, f"/v1/customers/{phone}/context")
    assert ctx["customer_id"] == customer
    assert chat.startswith(
        next(c for c in ctx["open_cases"] if c["case_id"] == case_id)["last_message"][:20]
    )
    assert ctx["order_count"] == 1
