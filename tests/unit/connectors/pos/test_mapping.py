"""Receipts to the contract's events: a sale reaches orders, stock and the customer."""

from __future__ import annotations

from typing import Any

from connectors.pos.mapping import events_for
from connectors.pos.receipts import from_json
from tests.unit.connectors.encodes import encodes

BASE: dict[str, Any] = {
    "receipt_id": "S7-T2-0001",
    "store_id": "STORE-7",
    "terminal_id": "T2",
    "occurred_at": "2025-03-01T10:00:00Z",
    "loyalty_id": "L-1",
}
LINES = [
    {"line_id": "1", "sku": "SKU-1", "quantity": 2, "unit_price": "19.99"},
    {"line_id": "2", "sku": "SKU-2", "quantity": 1, "unit_price": "5"},
]


def mapped(**fields: Any) -> list[Any]:
    out = events_for(from_json({**BASE, **fields}, "", "EUR"))
    for event in out:
        encodes(event)
    return out


def test_a_sale_is_placed_paid_and_picked_up_at_the_store_for_the_loyalty_card() -> None:
    placed, paid, picked = mapped(type="sale", lines=LINES, payment_method="card")
    assert [e.record.rsplit(".", 1)[1] for e in (placed, paid, picked)] == [
        "OrderPlaced",
        "OrderPaid",
        "OrderPickedUp",
    ]
    assert placed.value["fulfilment"] == "unknown"
    assert placed.value["location_id"] == picked.value["location_id"] == "STORE-7"
    assert placed.value["total_minor"] == paid.value["amount_minor"] == 2 * 1999 + 500
    assert {e.value["order_id"] for e in (placed, paid, picked)} == {"S7-T2-0001"}
    ids = placed.value["envelope"]["identifiers"]
    assert (ids["loyalty_id"], placed.value["envelope"]["channel"]) == ("L-1", "store")
    assert len({e.value["envelope"]["event_id"] for e in (placed, paid, picked)}) == 3


def test_event_ids_are_the_receipts_own_so_a_resend_is_a_duplicate() -> None:
    first = [e.value["envelope"]["event_id"] for e in mapped(type="sale", lines=LINES)]
    again = [e.value["envelope"]["event_id"] for e in mapped(type="sale", lines=LINES)]
    other = mapped(type="sale", lines=LINES, receipt_id="S7-T2-0002")
    assert first == again
    assert first[0] != other[0].value["envelope"]["event_id"]


def test_a_return_of_an_order_goes_to_the_order_and_one_without_to_stock() -> None:
    [returned] = mapped(type="return", lines=LINES[:1], order_id="O-9", reason="size")
    assert returned.record == "omni.order.OrderReturned"
    assert (returned.value["order_id"], returned.value["location_id"]) == ("O-9", "STORE-7")
    moves = mapped(type="return", lines=LINES)
    assert [m.record for m in moves] == ["omni.inventory.StockMovement"] * 2
    assert [(m.value["kind"], m.value["movement_id"], m.value["quantity"]) for m in moves] == [
        ("returned", "S7-T2-0001/1", 2),
        ("returned", "S7-T2-0001/2", 1),
    ]


def test_a_loyalty_scan_identifies_or_links_the_card() -> None:
    [identified] = mapped(type="loyalty_scan", customer_id="C-1")
    assert identified.record == "omni.customer.CustomerIdentified"
    assert identified.value["customer_id"] == "C-1"
    assert identified.value["envelope"]["identifiers"]["loyalty_id"] == "L-1"
    [linked] = mapped(type="loyalty_scan", phone="+49 30 123")
    assert linked.record == "omni.customer.IdentifiersLinked"
    assert linked.value["reason"] == "loyalty_scan"
    assert linked.value["envelope"]["identifiers"]["phone_sha256"] is None
    assert linked.value["linked"]["phone_sha256"]
    assert encodes(linked) == "L-1"


def test_a_pickup_hands_over_the_order() -> None:
    [picked] = mapped(type="pickup", order_id="O-5")
    assert (picked.record, picked.value["order_id"]) == ("omni.order.OrderPickedUp", "O-5")
