"""Cart side of the per-customer stage (stage 2, driven by :mod:`streams.context.agents`).

Carts are not a stage of their own: their key is the canonical customer id,
the same key as the customer context, so the stage that owns a profile owns
its cart too and a merge moves both in one command. These helpers keep the
cart decisions out of the context agent. Prices come from the price book
(:mod:`streams.pricing`), as of the event's time; the event's own unit price
only when the book has no price for the SKU yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.catalogue import CART_EVENTS
from streams.carts import model, rules
from streams.common.events import wire_millis
from streams.common.outcome import Applied

CART_RECORDS = frozenset(name.rpartition(".")[2] for name in CART_EVENTS.records)


def new_cart(canonical_id: str, kind: str) -> model.Cart:
    """An empty cart under the canonical id; a customer id is also its customer."""
    return model.Cart(canonical_id, customer_id=canonical_id if kind == "customer" else None)


def apply_event(
    cart: model.Cart | None,
    canonical_id: str,
    kind: str,
    name: str,
    event: Mapping[str, Any],
    prices: rules.Prices = rules.NO_PRICES,
) -> rules.Outcome:
    """Fold a cart event into the profile's cart (created on first use)."""
    return rules.apply(cart or new_cart(canonical_id, kind), name, event, prices)


def changed(outcome: rules.Outcome, cart: model.Cart | None) -> model.Cart | None:
    """The new cart when the outcome changed it, else None."""
    if isinstance(outcome, Applied) and outcome.state is not cart:
        return outcome.state
    return None


def absorb(
    survivor: model.Cart | None, loser: model.Cart | None, canonical_id: str, kind: str
) -> model.Cart | None:
    """The survivor's cart after a merge: quantities add, the newest price wins."""
    if loser is None or not loser.lines:
        return survivor
    return rules.merge_carts(survivor or new_cart(canonical_id, kind), loser)


def ship(cart: model.Cart | None) -> dict[str, Any] | None:
    return None if cart is None else model.to_state_dict(cart)


def unship(data: Mapping[str, Any] | None) -> model.Cart | None:
    return None if data is None else model.from_state_dict(data)


def view(cart: model.Cart | None) -> dict[str, Any] | None:
    """``omni.view.CartView`` or None for a tombstone (merged away or deleted)."""
    return None if cart is None else model.to_view(cart, wire_millis)
