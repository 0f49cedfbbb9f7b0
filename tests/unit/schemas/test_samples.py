"""Sample records: deterministic, valid and plausible enough to read in a log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.avro import load_schema_set
from schemas.exceptions import SchemaError
from schemas.models import model_for
from schemas.samples import sample, sample_event

RECORDS = load_schema_set().records()
EVENTS = [n for n in RECORDS if load_schema_set().raw(n)["fields"][0]["name"] == "envelope"]
PATTERNS = {
    "sku": r"SKU-\d{6}",
    "location_id": r"STORE-\d{3}",
    "to_location_id": r"STORE-\d{3}",
    "email_sha256": r"[0-9a-f]{64}",
    "phone_sha256": r"[0-9a-f]{64}",
    "event_id": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "currency": r"[A-Z]{3}",
}


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (field name, value) pair in a nested record."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _items(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _items(inner)


@pytest.mark.parametrize("name", RECORDS)
def test_samples_are_deterministic_and_valid(name: str) -> None:
    assert sample(name, seed=5) == sample(name, seed=5)
    model_for(name).model_validate(sample(name, seed=5))
    model_for(name).model_validate(sample(name, seed=5, minimal=True))


@pytest.mark.parametrize("name", EVENTS)
def test_each_seed_gives_a_fresh_event_id(name: str) -> None:
    ids = {sample(name, seed)["envelope"]["event_id"] for seed in range(20)}
    assert len(ids) == 20


def test_event_ids_differ_between_types_for_one_seed() -> None:
    ids = {sample(name, seed=0)["envelope"]["event_id"] for name in EVENTS}
    assert len(ids) == len(EVENTS)


@pytest.mark.parametrize("name", RECORDS)
def test_values_look_like_the_real_thing(name: str) -> None:
    for field, value in _items(sample(name, seed=3)):
        if field in PATTERNS and isinstance(value, str):
            assert re.fullmatch(PATTERNS[field], value), f"{field}={value!r}"
        if field == "score":
            assert 1 <= value <= 5
        if field.endswith("_at") and isinstance(value, datetime):
            assert value.tzinfo == UTC


def test_numbers_add_up() -> None:
    order = sample("omni.order.OrderPlaced", seed=9)
    assert order["total_minor"] == sum(
        ln["unit_price_minor"] * ln["quantity"] for ln in order["lines"]
    )
    cart = sample("omni.view.CartView", seed=9)
    assert cart["item_count"] == sum(ln["quantity"] for ln in cart["items"])
    level = sample("omni.view.StockLevel", seed=9)
    assert level["available"] == level["on_hand"] - level["reserved"] >= 0
    promo = sample("omni.pricing.PromotionUpdated", seed=9)
    assert promo["ends_at"] > promo["starts_at"]


def test_minimal_samples_leave_defaults_alone() -> None:
    minimal = sample("omni.cart.CartItemAdded", seed=1, minimal=True)
    assert minimal["cart_id"] is None
    assert minimal["unit_price_minor"] is None
    assert minimal["envelope"]["session_id"] is None
    assert minimal["sku"].startswith("SKU-")


def test_sample_event_applies_and_validates_overrides() -> None:
    event = sample_event(
        "omni.order.OrderPickedUp", 4, channel="store", occurred_at="2025-05-01T12:00:00Z"
    )
    assert event["envelope"]["channel"] == "store"
    assert event["envelope"]["occurred_at"] == datetime(2025, 5, 1, 12, tzinfo=UTC)
    assert event["order_id"] == sample("omni.order.OrderPickedUp", 4)["order_id"]
    with pytest.raises(ValidationError, match=r"envelope\.channel"):
        sample_event("omni.order.OrderPickedUp", 4, channel="fax")


def test_sample_event_refuses_unknown_fields_and_non_events() -> None:
    with pytest.raises(TypeError, match="not fields of the envelope: chanel"):
        sample_event("omni.order.OrderPickedUp", chanel="web")
    with pytest.raises(SchemaError, match=r"omni\.view\.CartView is not an event"):
        sample_event("omni.view.CartView")
    with pytest.raises(SchemaError, match=r"'omni\.common\.Channel' is not a record"):
        sample("omni.common.Channel")
