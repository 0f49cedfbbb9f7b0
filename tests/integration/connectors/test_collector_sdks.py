"""Real Segment-protocol SDKs from PyPI send a journey; it lands as the contract's Avro."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient

from tests.integration.connectors.collector_process import WEB_KEY, CollectorProcess
from tests.integration.connectors.kafka_reader import Landed, read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

SDKS = {"segment-analytics-python": SegmentClient, "rudder-sdk-python": RudderClient}


def journey(client: Any, anon: str, user: str, order: str) -> None:
    """Browse, add to cart, log in, buy: the calls a shop's backend makes."""
    client.page(anonymous_id=anon, name="Home", properties={"url": "https://shop.example/"})
    client.track(
        anonymous_id=anon,
        event="Products Searched",
        properties={"query": "running shoes"},
    )
    client.track(
        anonymous_id=anon,
        event="Product Viewed",
        properties={"product_id": "P-1", "sku": "SKU-1", "name": "Runner", "price": 89.9},
    )
    client.track(
        anonymous_id=anon,
        event="Product Added",
        properties={"sku": "SKU-1", "price": 89.9, "quantity": 1, "cart_id": f"cart-{anon}"},
    )
    client.identify(
        user_id=user, anonymous_id=anon, traits={"email": "ada@example.com", "tier": "gold"}
    )
    client.alias(previous_id=anon, user_id=user)
    client.track(
        user_id=user,
        anonymous_id=anon,
        event="Order Completed",
        properties={
            "order_id": order,
            "total": 89.9,
            "currency": "EUR",
            "products": [{"sku": "SKU-1", "price": 89.9, "quantity": 1}],
        },
    )
    client.screen(user_id=user, name="OrderConfirmation")
    client.track(user_id=user, event="Newsletter Subscribed", properties={"list": "weekly"})


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_sdk_journey_lands_on_the_right_topics(
    sdk: str, collector: CollectorProcess, contract_env: ContractEnv
) -> None:
    anon, user, order = (f"{kind}-{uuid.uuid4().hex}" for kind in ("anon", "user", "order"))
    errors: list[Any] = []
    client = SDKS[sdk](
        write_key=WEB_KEY,
        host=collector.url,
        gzip=True,
        max_retries=2,
        on_error=lambda error, _items: errors.append(error),
    )
    journey(client, anon, user, order)
    client.flush()
    client.shutdown()
    assert errors == []

    def ours(landed: Landed) -> bool:
        ids = landed.value["envelope"]["identifiers"]
        return anon in (ids["anonymous_id"], ids["customer_id"]) or user == ids["customer_id"]

    landed = read_events(contract_env, ours, expected=10)
    found = sorted((item.topic, item.record.rpartition(".")[2]) for item in landed)
    assert found == [
        ("omni.cart.events", "CartCheckedOut"),
        ("omni.cart.events", "CartItemAdded"),
        ("omni.customer.interactions", "InteractionTracked"),
        ("omni.customer.interactions", "PageViewed"),
        ("omni.customer.interactions", "ProductViewed"),
        ("omni.customer.interactions", "ProductsSearched"),
        ("omni.customer.interactions", "ScreenViewed"),
        ("omni.identity.events", "CustomerIdentified"),
        ("omni.identity.events", "IdentifiersLinked"),
        ("omni.order.events", "OrderPlaced"),
    ], found
    by_record = {item.record.rpartition(".")[2]: item for item in landed}
    placed = by_record["OrderPlaced"]
    assert (placed.key, placed.value["total_minor"]) == (order, 8990)
    assert by_record["CartItemAdded"].key == anon
    identified = by_record["CustomerIdentified"]
    assert (identified.key, identified.value["traits"]) == (user, {"tier": "gold"})
    assert identified.value["envelope"]["identifiers"]["email_sha256"] is not None
    assert len({item.value["envelope"]["event_id"] for item in landed}) == len(landed)
