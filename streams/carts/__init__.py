"""Carts that follow the shopper across channels (pure rules)."""

from streams.carts.model import Cart, Line, from_state_dict, summary, to_state_dict, to_view
from streams.carts.rules import (
    Outcome,
    Prices,
    apply,
    cart_key_of,
    merge_carts,
    merge_into,
    merged_away,
    order_placed,
)
from streams.common.outcome import Redirected

__all__ = [
    "Cart",
    "Line",
    "Outcome",
    "Prices",
    "Redirected",
    "apply",
    "cart_key_of",
    "from_state_dict",
    "merge_carts",
    "merge_into",
    "merged_away",
    "order_placed",
    "summary",
    "to_state_dict",
    "to_view",
]
