"""The Segment -> Avro mapping, pure: every mapped value must also encode with its schema."""

from __future__ import annotations

import io
import uuid
from typing import Any

import fastavro
import pytest

from connectors.collector.mapping import Origin, map_message, map_messages
from connectors.core.events import EVENT_ID_NAMESPACE, Outgoing, sha256_email
from connectors.core.exceptions import InvalidEvent
from schemas.avro import load_schema_set
from schemas.catalogue import topic_for_record

RECEIVED = 1_700_000_000_000
ORIGIN = Origin(source="web-shop", channel="web", received_at_ms=RECEIVED)


def encodes(out: Outgoing) -> None:
    """The value fits its Avro schema and the catalogue can key it."""
    fastavro.schemaless_writer(io.BytesIO(), load_schema_set().parsed(out.record), out.value)
    rule = topic_for_record(out.record).key
    assert rule is not None
    assert rule.key_of(out.value)


def one(message: dict[str, Any], kind: str | None = None) -> Outgoing:
    [out] = map_message(message, "", ORIGIN, kind)
    encodes(out)
    return out


def track(event: str, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "anonymousId": "anon-1", "event": event, "properties": properties}


def test_product_added_becomes_cart_item_added_in_minor_units() -> None:
    out = one(track("Product Added", product_id="P1", sku="SKU-1", price=19.99, quantity=2))
    assert out.record == "omni.cart.CartItemAdded"
    assert (out.value["sku"], out.value["quantity"], out.value["unit_price_minor"]) == (
        "SKU-1",
        2,
        1999,
    )
    assert out.value["envelope"]["identifiers"]["anonymous_id"] == "anon-1"


def test_product_id_stands_in_for_a_missing_sku_and_quantity_defaults_to_one() -> None:
    out = one(track("Product Added", product_id=42))
    assert (out.value["sku"], out.value["quantity"]) == ("42", 1)


def test_currency_exponents() -> None:
    jpy = one(track("Product Viewed", sku="S", price=1200, currency="jpy"))
    kwd = one(track("Product Viewed", sku="S", price=1.5, currency="KWD"))
    assert (jpy.value["price_minor"], jpy.value["currency"]) == (1200, "JPY")
    assert kwd.value["price_minor"] == 1500


@pytest.mark.parametrize(
    ("event", "record"),
    [
        ("Products Searched", "omni.customer.ProductsSearched"),
        ("Product Viewed", "omni.customer.ProductViewed"),
        ("Product Removed", "omni.cart.CartItemRemoved"),
        ("Order Cancelled", "omni.order.OrderCancelled"),
        ("Viewed Product", "omni.customer.ProductViewed"),
        ("Cart Viewed", "omni.customer.InteractionTracked"),
        ("Checkout Started", "omni.customer.InteractionTracked"),
        ("Wishlist Shared", "omni.customer.InteractionTracked"),
    ],
)
def test_ecommerce_events_map_to_their_records(event: str, record: str) -> None:
    out = one(track(event, query="shoes", sku="S", order_id="O1", products=[{"sku": "A"}]))
    assert out.record == record


def test_unknown_track_keeps_name_and_stringified_properties() -> None:
    out = one(track("Wishlist Shared", count=3, flag=True, nested={"a": [1]}, who="me"))
    assert out.value["name"] == "Wishlist Shared"
    assert out.value["properties"] == {
        "count": "3",
        "flag": "true",
        "nested": '{"a":[1]}',
        "who": "me",
    }


def test_order_completed_places_the_order_and_checks_the_cart_out() -> None:
    message = track(
        "Order Completed",
        order_id="O-1",
        checkout_id="C-9",
        cart_id="cart-1",
        total=45.0,
        currency="EUR",
        products=[
            {"product_id": "P1", "sku": "S1", "price": 10, "quantity": 3},
            {"sku": "S2", "price": 15},
        ],
    )
    placed, checked_out = map_message(message, "", ORIGIN)
    encodes(placed)
    encodes(checked_out)
    assert placed.record == "omni.order.OrderPlaced"
    assert placed.value["lines"] == [
        {"line_id": "1", "sku": "S1", "quantity": 3, "unit_price_minor": 1000},
        {"line_id": "2", "sku": "S2", "quantity": 1, "unit_price_minor": 1500},
    ]
    assert (placed.value["total_minor"], placed.value["fulfilment"]) == (4500, "ship")
    assert placed.value["envelope"]["correlation_id"] == "C-9"
    assert checked_out.record == "omni.cart.CartCheckedOut"
    assert checked_out.value["order_id"] == "O-1"
    assert checked_out.value["envelope"]["event_id"] != placed.value["envelope"]["event_id"]


def test_order_total_defaults_to_the_sum_of_lines() -> None:
    placed, _ = map_message(
        track(
            "Order Completed", order_id="O", products=[{"sku": "A", "price": 2.5, "quantity": 2}]
        ),
        "",
        ORIGIN,
    )
    assert placed.value["total_minor"] == 500


def test_order_refunded_returns_lines_to_the_default_location() -> None:
    out = one(track("Order Refunded", order_id="O-1", products=[{"sku": "S1", "price": 10}]))
    assert out.record == "omni.order.OrderReturned"
    assert out.value["location_id"] == "online"
    assert out.value["lines"][0]["sku"] == "S1"


def test_identify_with_user_id_hashes_contacts_and_keeps_them_out_of_traits() -> None:
    out = one(
        {
            "type": "identify",
            "userId": "cust-1",
            "anonymousId": "anon-1",
            "traits": {"email": " Ada@Example.COM ", "phone": "+44 20 7946 0000", "plan": "gold"},
        }
    )
    assert out.record == "omni.customer.CustomerIdentified"
    ids = out.value["envelope"]["identifiers"]
    assert ids["email_sha256"] == sha256_email("ada@example.com")
    assert ids["phone_sha256"] is not None
    assert out.value["traits"] == {"plan": "gold"}


def test_anonymous_identify_with_email_links_the_hash() -> None:
    out = one({"type": "identify", "anonymousId": "a", "traits": {"email": "x@y.z"}})
    assert out.record == "omni.customer.IdentifiersLinked"
    assert out.value["linked"]["email_sha256"] == sha256_email("x@y.z")


def test_alias_links_previous_id() -> None:
    out = one({"type": "alias", "userId": "cust-1", "previousId": "anon-1"})
    assert out.record == "omni.customer.IdentifiersLinked"
    assert (out.value["reason"], out.value["linked"]["anonymous_id"]) == ("alias", "anon-1")


def test_page_reads_context_page_and_screen_its_name() -> None:
    page = one(
        {
            "type": "page",
            "anonymousId": "a",
            "context": {"page": {"url": "https://shop.example/p/1?x=2", "title": "T"}},
        }
    )
    assert (page.value["url"], page.value["path"], page.value["title"]) == (
        "https://shop.example/p/1?x=2",
        "/p/1",
        "T",
    )
    screen = one({"anonymousId": "a", "name": "ProductDetail"}, "screen")
    assert screen.value["screen_name"] == "ProductDetail"


def test_group_is_an_interaction() -> None:
    out = one({"type": "group", "userId": "u", "groupId": 7, "traits": {"name": "ACME"}})
    assert out.value["properties"] == {"name": "ACME", "group_id": "7"}


def test_message_id_becomes_the_event_id_deterministically() -> None:
    given = str(uuid.uuid4())
    first = one({**track("X"), "messageId": given})
    assert first.value["envelope"]["event_id"] == given
    ajs = one({**track("X"), "messageId": "ajs-next-abc"})
    again = one({**track("Y"), "messageId": "ajs-next-abc"})
    expected = str(uuid.uuid5(EVENT_ID_NAMESPACE, "web-shop\x1fajs-next-abc"))
    assert ajs.value["envelope"]["event_id"] == again.value["envelope"]["event_id"] == expected


def test_a_message_without_id_gets_the_same_id_when_resent() -> None:
    assert one(track("X", a=1)).value["envelope"] == one(track("X", a=1)).value["envelope"]
    assert (
        one(track("X", a=1)).value["envelope"]["event_id"]
        != one(track("X", a=2)).value["envelope"]["event_id"]
    )


def test_validation_errors_name_every_bad_field_with_its_batch_index() -> None:
    batch = [
        track("Product Added", sku="S"),
        track("Product Added", sku="S", quantity="2"),
        {"type": "track", "event": "X"},
        {"type": "launch", "userId": "u"},
        track("Order Completed", order_id="O", products=[{"sku": "A"}]),
        "nope",
    ]
    with pytest.raises(InvalidEvent) as caught:
        map_messages(batch, ORIGIN, batch=True)
    assert caught.value.problems == (
        "batch[1].properties.quantity: must be an integer",
        "batch[2].userId: userId or anonymousId is required",
        "batch[3].type: must be one of identify, track, page, screen, group, alias",
        "batch[4].properties.products[0].price: is required",
        "batch[5]: must be a JSON object",
    )


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({"sku": "S", "quantity": 0}, "properties.quantity: must be a positive integer"),
        ({"sku": "S", "quantity": 1.5}, "properties.quantity: must be an integer"),
        ({"sku": "S", "price": "9.99"}, "properties.price: must be a number"),
        ({"sku": "S", "currency": "euro"}, "properties.currency: must be an ISO 4217 code"),
        ({"quantity": 1}, "properties.product_id: is required (or sku)"),
    ],
)
def test_single_event_errors(properties: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        map_message(track("Product Added", **properties), "", ORIGIN)
    assert str(caught.value).startswith(problem)


def test_bad_timestamp_is_named() -> None:
    with pytest.raises(InvalidEvent, match=r"^timestamp: must be an ISO-8601 date-time$"):
        map_message({**track("X"), "timestamp": "yesterday"}, "", ORIGIN)


def test_identify_traits_in_context_as_rudderstack_sends_them() -> None:
    out = one(
        {
            "type": "identify",
            "userId": "u",
            "context": {"traits": {"tier": "gold", "email": "a@b.c"}},
            "traits": {"tier": "silver"},
        }
    )
    assert out.value["traits"] == {"tier": "silver"}
    assert out.value["envelope"]["identifiers"]["email_sha256"] == sha256_email("a@b.c")
