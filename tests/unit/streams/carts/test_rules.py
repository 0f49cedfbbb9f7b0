"""Cart rules: adds, prices, removals, check-out, merges and views."""

from __future__ import annotations

import random
from typing import Any

import pytest

from streams.carts import (
    Cart,
    Redirected,
    apply,
    from_state_dict,
    merge_carts,
    merge_into,
    merged_away,
    order_placed,
    summary,
    to_state_dict,
    to_view,
)
from streams.carts.rules import Prices
from streams.common.events import wire_millis
from streams.common.idempotency import Seen, admit
from streams.common.outcome import Applied, Rejected
from tests.unit.streams.helpers import assert_view, encoded, event, json_trip, ms

ANON = {"anonymous_id": "a1"}


def _add(
    sku: str,
    qty: int,
    t: float = 0,
    price: int | None = None,
    ids: dict[str, str] | None = None,
) -> dict[str, Any]:
    return event(
        "cart.CartItemAdded", t=t, ids=ids or ANON, sku=sku, quantity=qty, unit_price_minor=price
    )


def _run(
    cart: Cart | None, *events: tuple[str, dict[str, Any]], prices: Prices | None = None
) -> Cart:
    for name, ev in events:
        out = apply(cart, name, ev, prices or {})
        assert isinstance(out, Applied), out
        cart = out.state
    assert cart is not None
    return cart


def test_first_add_creates_the_cart_under_the_visitor_key() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 2, price=500)))
    assert cart.cart_key == "a1"
    assert cart.lines["A"].quantity == 2
    assert cart.version == 1


def test_adds_of_one_sku_add_up_and_keep_the_first_added_time() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 2, 0, 500)), ("CartItemAdded", _add("A", 3, 60)))
    assert cart.lines["A"].quantity == 5
    assert cart.lines["A"].added_at == ms(0)


def test_price_comes_from_the_table_when_the_event_has_none() -> None:
    prices = {"A": (1999, "EUR", ms(-100))}
    cart = _run(None, ("CartItemAdded", _add("A", 1)), prices=prices)
    assert cart.lines["A"].unit_price_minor == 1999
    assert cart.lines["A"].price_at == ms(-100)
    unpriced = _run(None, ("CartItemAdded", _add("B", 1)))
    assert unpriced.lines["B"].unit_price_minor is None


def test_newer_price_wins_and_a_late_add_keeps_the_newer_price() -> None:
    cart = _run(
        None, ("CartItemAdded", _add("A", 1, 10, 700)), ("CartItemAdded", _add("A", 1, 5, 600))
    )
    assert cart.lines["A"].quantity == 2
    assert cart.lines["A"].unit_price_minor == 700


def test_zero_or_negative_add_is_rejected_and_changes_nothing() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 1)))
    assert apply(cart, "CartItemAdded", _add("A", 0)) == Rejected("non_positive_quantity", "A x 0")
    bad_set = event("cart.CartItemQuantitySet", ids=ANON, sku="A", quantity=-1)
    assert isinstance(apply(cart, "CartItemQuantitySet", bad_set), Rejected)


def test_quantity_set_is_absolute_and_zero_removes() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 4, 0, 100)))
    set3 = event("cart.CartItemQuantitySet", t=1, ids=ANON, sku="A", quantity=3)
    cart = _run(cart, ("CartItemQuantitySet", set3))
    assert cart.lines["A"].quantity == 3
    set0 = event("cart.CartItemQuantitySet", t=2, ids=ANON, sku="A", quantity=0)
    assert "A" not in _run(cart, ("CartItemQuantitySet", set0)).lines


def test_removing_an_unknown_sku_is_a_no_op_returning_the_same_state() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 1)))
    out = apply(cart, "CartItemRemoved", event("cart.CartItemRemoved", t=1, ids=ANON, sku="Z"))
    assert isinstance(out, Applied)
    assert out.state is cart


def test_a_late_removal_does_not_undo_a_newer_add() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 1, t=10)))
    late = event("cart.CartItemRemoved", t=5, ids=ANON, sku="A")
    assert _run(cart, ("CartItemRemoved", late)).lines["A"].quantity == 1


def test_clear_and_checkout_empty_the_cart_with_their_status() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 2, 0, 100)))
    cleared = _run(cart, ("CartCleared", event("cart.CartCleared", t=1, ids=ANON)))
    assert (cleared.lines, cleared.status) == ({}, "cleared")
    done = _run(cart, ("CartCheckedOut", event("cart.CartCheckedOut", t=1, ids=ANON)))
    assert (done.lines, done.status) == ({}, "checked_out")
    again = _run(done, ("CartItemAdded", _add("B", 1, t=2)))
    assert again.status == "active"


def test_order_placed_takes_the_ordered_units_out() -> None:
    cart = _run(
        None, ("CartItemAdded", _add("A", 2, 0, 100)), ("CartItemAdded", _add("B", 1, 0, 50))
    )
    partly = order_placed(cart, [{"sku": "A", "quantity": 2}], ms(5))
    assert list(partly.lines) == ["B"]
    assert partly.status == "active"
    emptied = order_placed(partly, [{"sku": "B", "quantity": 1}], ms(6))
    assert (emptied.lines, emptied.status) == ({}, "checked_out")
    assert order_placed(emptied, [{"sku": "Q", "quantity": 1}], ms(7)) is emptied


def test_merge_adds_quantities_and_newest_price_wins() -> None:
    target = _run(None, ("CartItemAdded", _add("A", 1, 10, 900, ids={"customer_id": "C1"})))
    source = _run(
        None, ("CartItemAdded", _add("A", 2, 20, 800)), ("CartItemAdded", _add("B", 1, 5, 10))
    )
    merged = merge_carts(target, source)
    assert merged.cart_key == "C1"
    assert merged.lines["A"].quantity == 3
    assert merged.lines["A"].unit_price_minor == 800
    assert merged.lines["B"].quantity == 1
    assert merged.status == "active"
    assert merge_into(target, source) == merged


def test_merged_away_cart_redirects_and_its_view_is_a_tombstone() -> None:
    source = _run(None, ("CartItemAdded", _add("A", 2)))
    gone = merged_away(source, "C1", ms(30))
    assert gone.status == "merged"
    assert to_view(gone) is None
    assert summary(gone) is None
    assert apply(gone, "CartItemAdded", _add("A", 1)) == Redirected("C1")


def _random_cart(rng: random.Random, key: str) -> Cart:
    cart: Cart | None = None
    for _ in range(rng.randint(0, 6)):
        sku = rng.choice("ABCDE")
        ev = _add(
            sku,
            rng.randint(1, 4),
            rng.randint(0, 100),
            rng.choice([None, 100, 200]),
            ids={"anonymous_id": key},
        )
        cart = _run(cart, ("CartItemAdded", ev))
    return cart or Cart(key)


def _quantities(cart: Cart) -> dict[str, int]:
    return {sku: line.quantity for sku, line in cart.lines.items()}


def _prices(cart: Cart) -> dict[str, int | None]:
    return {sku: line.unit_price_minor for sku, line in cart.lines.items()}


@pytest.mark.parametrize("seed", range(30))
def test_merge_is_associative_on_quantities_and_prices(seed: int) -> None:
    rng = random.Random(seed)
    a, b, c = (_random_cart(rng, k) for k in "abc")
    left = merge_carts(merge_carts(a, b), c)
    right = merge_carts(a, merge_carts(b, c))
    assert _quantities(left) == _quantities(right)
    assert _prices(left) == _prices(right)


def test_duplicate_delivery_has_one_effect() -> None:
    add = _add("A", 2, 0, 100)
    stream = [add, add, _add("B", 1, 1, 50), add]
    seen, cart = Seen(), None
    for ev in stream:
        verdict, seen = admit(seen, ev["envelope"])
        if verdict.applies:
            cart = _run(cart, ("CartItemAdded", ev))
    assert cart is not None
    assert _quantities(cart) == {"A": 2, "B": 1}


def test_view_validates_and_totals_count_priced_lines() -> None:
    cart = _run(
        None,
        ("CartItemAdded", _add("A", 2, 0, 250, ids={"anonymous_id": "a1", "customer_id": "C1"})),
        ("CartItemAdded", _add("B", 1, 1, None)),
    )
    view = to_view(cart)
    assert view is not None
    assert_view(view, "omni.view.CartView")
    assert (view["item_count"], view["total_minor"], view["customer_id"]) == (3, 500, "C1")
    wire = to_view(cart, wire_millis)
    assert wire is not None
    assert encoded(wire, "omni.view.CartView") == encoded(view, "omni.view.CartView")
    assert [type(i["added_at"]) for i in wire["items"]] == [int, int]
    assert wire["updated_at"] == cart.updated_at
    cart_summary = summary(cart)
    assert cart_summary is not None
    assert_view(cart_summary, "omni.view.CartSummary")


def test_state_dict_round_trip() -> None:
    cart = _run(None, ("CartItemAdded", _add("A", 2, 0, 250)), ("CartItemAdded", _add("B", 1, 1)))
    assert from_state_dict(json_trip(to_state_dict(cart))) == cart
    assert list(from_state_dict(json_trip(to_state_dict(cart))).lines) == ["A", "B"]


def test_split_takes_the_losers_quantities_out_and_reopens_its_cart() -> None:
    from streams.carts.rules import reopened, split

    ours = _run(Cart("C1"), ("CartItemAdded", _add("A", 1)), ("CartItemAdded", _add("B", 1)))
    theirs = _run(Cart("C2"), ("CartItemAdded", _add("B", 2)), ("CartItemAdded", _add("C", 4)))
    merged = merge_carts(ours, theirs)
    assert {s: line.quantity for s, line in merged.lines.items()} == {"A": 1, "B": 3, "C": 4}
    parted = split(merged, theirs, ms(10))
    assert {s: line.quantity for s, line in parted.lines.items()} == {"A": 1, "B": 1}
    assert parted.version == merged.version + 1
    assert split(ours, Cart("C3"), ms(10)) is ours  # nothing brought, nothing taken

    back = reopened(merged_away(theirs, "C1", ms(5)), ms(11))
    assert (back.status, back.merged_into) == ("active", None)


def test_cart_events_naming_no_sku_are_invalid() -> None:
    out = apply(None, "CartItemAdded", _add("", 1))
    assert isinstance(out, Rejected)
    assert out.reason == "blank_sku"


def test_validate_judges_a_cart_event_alone() -> None:
    from streams.carts.rules import validate

    assert validate("omni.cart.CartItemAdded", _add("A", 1)) is None
    assert validate("omni.cart.CartItemAdded", _add("A", 0)).reason == "non_positive_quantity"  # type: ignore[union-attr]
    assert validate("omni.cart.CartItemAdded", _add(" ", 1)).reason == "blank_sku"  # type: ignore[union-attr]
    set_negative = {**_add("A", 1), "quantity": -2}
    assert validate("omni.cart.CartItemQuantitySet", set_negative).reason == "negative_quantity"  # type: ignore[union-attr]
    assert validate("omni.customer.PageViewed", {}) is None
