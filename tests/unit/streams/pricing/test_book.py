"""The price book and the cart's price join, without Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from streams.carts import model, rules
from streams.pricing.book import HISTORY_BOUND, PriceBook, PricePoint, point_of

T0 = 1_700_000_000_000


def price_event(sku: str, price: int, at: int, valid_from: int | None = None) -> dict[str, Any]:
    return {
        "envelope": {
            "event_id": uuid.uuid4(),
            "occurred_at": datetime.fromtimestamp(at / 1000, UTC),
            "source": "erp",
        },
        "sku": sku,
        "price_minor": price,
        "currency": "EUR",
        "valid_from": None
        if valid_from is None
        else datetime.fromtimestamp(valid_from / 1000, UTC),
    }


def added(sku: str, at: int, unit_price: int | None = None) -> dict[str, Any]:
    return {
        "envelope": {
            "event_id": uuid.uuid4(),
            "occurred_at": datetime.fromtimestamp(at / 1000, UTC),
            "source": "web",
            "sequence": None,
            "identifiers": None,
        },
        "cart_id": "c1",
        "sku": sku,
        "quantity": 2,
        "unit_price_minor": unit_price,
        "currency": "EUR",
    }


def test_price_in_effect_is_the_latest_that_started_by_then() -> None:
    book = PriceBook()
    book.apply("sku-1", point_of(price_event("sku-1", 1000, T0)))
    book.apply("sku-1", point_of(price_event("sku-1", 800, T0 + 10, valid_from=T0 + 60_000)))
    assert book.price_at("sku-1", T0 - 1) is None
    assert book.price_at("sku-1", T0 + 30_000).price_minor == 1000  # type: ignore[union-attr]
    assert book.price_at("sku-1", T0 + 60_000).price_minor == 800  # type: ignore[union-attr]


def test_redelivered_price_is_a_duplicate_and_history_is_bounded() -> None:
    book = PriceBook()
    event = price_event("sku-1", 1000, T0)
    assert book.apply("sku-1", point_of(event)) is True
    assert book.apply("sku-1", point_of(event)) is False
    for i in range(HISTORY_BOUND * 2):
        book.apply("sku-1", PricePoint(T0 + i + 1, f"id-{i}", 900 + i, "EUR"))
    assert len(book.points["sku-1"]) == HISTORY_BOUND
    assert book.price_at("sku-1", T0 + 10_000).price_minor == 900 + HISTORY_BOUND * 2 - 1  # type: ignore[union-attr]


def test_same_instant_ties_go_to_the_greater_event_id() -> None:
    book = PriceBook()
    book.apply("sku-1", PricePoint(T0, "b", 200, "EUR"))
    book.apply("sku-1", PricePoint(T0, "a", 100, "EUR"))
    assert book.price_at("sku-1", T0).price_minor == 200  # type: ignore[union-attr]


def test_cart_line_takes_the_table_price_over_the_event_price() -> None:
    book = PriceBook()
    book.apply("sku-1", point_of(price_event("sku-1", 1299, T0)))
    outcome = rules.apply(
        model.Cart("cust-1"), "CartItemAdded", added("sku-1", T0 + 5, 999), book.as_of(T0 + 5)
    )
    line = outcome.state.lines["sku-1"]  # type: ignore[union-attr]
    assert (line.unit_price_minor, line.quantity) == (1299, 2)


def test_unpriced_sku_falls_back_to_the_event_price_then_to_none() -> None:
    book = PriceBook()
    with_price = rules.apply(
        model.Cart("c"), "CartItemAdded", added("sku-9", T0, 999), book.as_of(T0)
    )
    without = rules.apply(model.Cart("c"), "CartItemAdded", added("sku-9", T0), book.as_of(T0))
    assert with_price.state.lines["sku-9"].unit_price_minor == 999  # type: ignore[union-attr]
    assert without.state.lines["sku-9"].unit_price_minor is None  # type: ignore[union-attr]


def test_a_future_price_does_not_reprice_todays_add() -> None:
    book = PriceBook()
    book.apply("sku-1", point_of(price_event("sku-1", 1000, T0)))
    book.apply("sku-1", point_of(price_event("sku-1", 500, T0, valid_from=T0 + 86_400_000)))
    outcome = rules.apply(
        model.Cart("c"), "CartItemAdded", added("sku-1", T0 + 1000), book.as_of(T0 + 1000)
    )
    assert outcome.state.lines["sku-1"].unit_price_minor == 1000  # type: ignore[union-attr]
