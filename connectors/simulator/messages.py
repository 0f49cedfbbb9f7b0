"""What each channel sends, as the channel sends it: Segment calls, receipts, desk events, ERP rows.

Builders return request bodies *without* their times; the sender stamps
them when it sends (``connectors.simulator.send``), so the views look live
while ids and content stay a pure function of the seed. Each body comes as a
``Step`` that also says how many channel messages it holds (what the pacing
rate counts) and which Avro records per topic the connector must publish for
it (what the integration tests check).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from connectors.simulator.world import Customer, Product, det_uuid
from schemas.catalogue import (
    CART_EVENTS,
    CUSTOMER_INTERACTIONS,
    IDENTITY_EVENTS,
    ORDER_EVENTS,
    PRICES,
    SERVICE_CASES,
    STOCK_MOVEMENTS,
)

COLLECTOR, POS, SERVICE_DESK, INVENTORY = "collector", "pos", "servicedesk", "inventory"
CONNECTORS = (COLLECTOR, POS, SERVICE_DESK, INVENTORY)
SEGMENT_TOPICS = {
    "page": {CUSTOMER_INTERACTIONS.name: 1},
    "screen": {CUSTOMER_INTERACTIONS.name: 1},
    "identify": {IDENTITY_EVENTS.name: 1},
    "Products Searched": {CUSTOMER_INTERACTIONS.name: 1},
    "Product Viewed": {CUSTOMER_INTERACTIONS.name: 1},
    "Product Added": {CART_EVENTS.name: 1},
    "Order Completed": {ORDER_EVENTS.name: 1, CART_EVENTS.name: 1},
    "Order Refunded": {ORDER_EVENTS.name: 1},
}
RECEIPT_TOPICS = {
    "sale": {ORDER_EVENTS.name: 3},
    "pickup": {ORDER_EVENTS.name: 1},
    "return": {ORDER_EVENTS.name: 1},
    "loyalty_scan": {IDENTITY_EVENTS.name: 1},
}


@dataclass(frozen=True)
class Step:
    """One HTTP request of a journey."""

    connector: str
    route: str
    body: dict[str, Any]
    events: int
    expect: Counter[str] = field(default_factory=Counter)
    key: str = "web"  # the collector write key's channel: "web" or "app"


class Messages:
    """Builders for one journey; a counter makes each message id unique and repeatable."""

    def __init__(self, seed: int, owner: str) -> None:
        self.seed = seed
        self.owner = owner
        self.count = 0

    def next_id(self) -> str:
        self.count += 1
        return det_uuid(self.seed, self.owner, self.count)

    # --- web and app (Segment, through the collector) -----------------------------------

    def segment(self, who: dict[str, Any], kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "messageId": self.next_id(), **who, **fields}

    def track(self, who: dict[str, Any], event: str, **properties: Any) -> dict[str, Any]:
        return self.segment(who, "track", event=event, properties=properties)

    def batch(self, messages: list[dict[str, Any]], key: str = "web") -> Step:
        expect: Counter[str] = Counter()
        for message in messages:
            expect.update(SEGMENT_TOPICS[message.get("event") or message["type"]])
        return Step(COLLECTOR, "/v1/batch", {"batch": messages}, len(messages), expect, key)

    # --- stores (POS) -------------------------------------------------------------------

    def receipt(self, kind: str, receipt_id: str, store: str, **fields: Any) -> Step:
        body = {"type": kind, "receipt_id": receipt_id, "store_id": store, **fields}
        return Step(POS, "/v1/receipts", body, 1, Counter(RECEIPT_TOPICS[kind]))

    # --- service desk ----------------------------------------------------------------------

    def desk(self, events: list[dict[str, Any]]) -> Step:
        body = {"events": [{"id": f"sd-{self.next_id()}", **event} for event in events]}
        expect = Counter({SERVICE_CASES.name: len(events)})
        return Step(SERVICE_DESK, "/v1/servicedesk/events", body, len(events), expect)

    # --- ERP (inventory feed) -------------------------------------------------------------

    def snapshot(self, snapshot_id: str, location: str, counts: dict[str, int]) -> Step:
        items = [{"sku": sku, "quantity": quantity} for sku, quantity in counts.items()]
        body = {"snapshot_id": snapshot_id, "location_id": location, "items": items}
        expect = Counter({STOCK_MOVEMENTS.name: len(items)})
        return Step(INVENTORY, "/v1/inventory/snapshots", body, len(items), expect)

    def prices(self, version: int, products: list[Product]) -> Step:
        rows = [
            {
                "price_id": f"{p.sku}/v{version}",
                "sku": p.sku,
                "price_minor": p.price_minor,
                "currency": "EUR",
            }
            for p in products
        ]
        expect = Counter({PRICES.name: len(rows)})
        return Step(INVENTORY, "/v1/inventory/prices", {"prices": rows}, len(rows), expect)

    def delivery(self, location: str, counts: dict[str, int]) -> Step:
        rows = [
            {
                "movement_id": f"MV-{self.next_id()}",
                "sku": sku,
                "location_id": location,
                "kind": "received",
                "quantity": quantity,
                "reference": f"DN-{self.owner}-{self.count}",
            }
            for sku, quantity in counts.items()
        ]
        expect = Counter({STOCK_MOVEMENTS.name: len(rows)})
        return Step(INVENTORY, "/v1/inventory/movements", {"movements": rows}, len(rows), expect)


def web_who(customer: Customer, logged_in: bool) -> dict[str, Any]:
    who: dict[str, Any] = {"anonymousId": customer.web_anonymous_id}
    if logged_in:
        who["userId"] = customer.customer_id
    return who


def app_who(customer: Customer, logged_in: bool) -> dict[str, Any]:
    who: dict[str, Any] = {
        "anonymousId": customer.app_anonymous_id,
        "context": {"device": {"id": customer.app_device_id, "type": "ios"}},
    }
    if logged_in:
        who["userId"] = customer.customer_id
    return who


def shopper(customer: Customer, *, customer_id: bool = True) -> dict[str, Any]:
    """The identifiers a till or a desk knows: the loyalty card (and the holder's number)."""
    ids: dict[str, Any] = {"loyalty_id": customer.loyalty_id}
    if customer_id:
        ids["customer_id"] = customer.customer_id
    return ids
